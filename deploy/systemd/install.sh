#!/usr/bin/env bash
# Installs oms-gateway as a systemd service from a built checkout (`npm ci` builds dist/):
#   - a system user and group `oms-gateway` (no shell, no home);
#   - the application in /opt/oms-gateway (root-owned: the service cannot change its own code), with its
#     production dependencies (`npm ci --omit=dev`, which needs the npm registry or a mirror);
#   - /etc/oms-gateway/ (owned by oms-gateway, mode 0750) and, when missing, oms-gateway.yaml there from
#     config/oms-gateway.example.yaml with pidFile set — an existing file is never overwritten;
#   - the unit /etc/systemd/system/oms-gateway.service (replaced on upgrade; local changes belong in a
#     drop-in), plus a drop-in naming node when it is not /usr/bin/node;
#   - /usr/local/bin/oms-gateway, which runs the management commands as the service user so the files they
#     rewrite stay readable by the service.
# It neither enables nor starts the service; it prints the next steps.
#
# Usage: sudo deploy/systemd/install.sh [--root DIR] [--no-deps] [--node PATH]
#   --root DIR   stage the files under DIR instead of / (packaging, tests): no user, no chown, no systemctl
#   --no-deps    do not run npm; copy node_modules into /opt/oms-gateway yourself (offline hosts)
#   --node PATH  the Node.js 20.18+ binary the service runs (default: `command -v node`)
set -euo pipefail

readonly SERVICE_USER=oms-gateway
readonly UNIT_NODE=/usr/bin/node
readonly MIN_NODE=20.18
readonly PID_FILE=/run/oms-gateway/oms-gateway.pid

die() { echo "install.sh: $*" >&2; exit 1; }

root=''
deps=yes
node=''
while (($# > 0)); do
  case "$1" in
    --root) (($# >= 2)) || die '--root needs a directory'; root="${2%/}"; shift 2 ;;
    --no-deps) deps=no; shift ;;
    --node) (($# >= 2)) || die '--node needs a path'; node="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
app="$root/opt/oms-gateway"
etc="$root/etc/oms-gateway"
unit_dir="$root/etc/systemd/system"
bin="$root/usr/local/bin/oms-gateway"

[[ -f "$source_dir/dist/src/cli/main.js" ]] || die "no build in $source_dir/dist: run 'npm ci' (it builds) first"
if [[ -z "$root" && "$(id -u)" != 0 ]]; then die 'run as root (sudo), or stage with --root DIR'; fi

node="${node:-$(command -v node || true)}"
[[ -n "$node" && -x "$node" ]] || die 'Node.js not found: install Node.js 20.18 or later, or pass --node PATH'
node_version="$("$node" -p 'process.versions.node')"
"$node" -e "const [a, b] = process.versions.node.split('.').map(Number); const [x, y] = '$MIN_NODE'.split('.').map(Number);
  process.exit(a > x || (a === x && b >= y) ? 0 : 1)" || die "$node is Node.js $node_version; oms-gateway needs $MIN_NODE or later"

echo "install.sh: installing from $source_dir${root:+ into $root}"

# 1. The service user: a system account that cannot log in.
if [[ -z "$root" ]] && ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
  echo "  created system user $SERVICE_USER"
fi

# 2. The application, replaced as a whole so no file of an older version lingers.
install -d -m 0755 "$(dirname "$app")"
staging="$(mktemp -d "$(dirname "$app")/.oms-gateway.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
install -d -m 0755 "$staging/dist"
cp -R "$source_dir/dist/src" "$staging/dist/src"
cp -R "$source_dir/config" "$staging/config"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$source_dir/README.md" "$staging/"
if [[ "$deps" == yes ]]; then
  # --ignore-scripts: `prepare` runs tsc, a development dependency; dist/ is already built.
  (cd "$staging" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
elif [[ -d "$app/node_modules" ]]; then
  mv "$app/node_modules" "$staging/node_modules"
else
  echo "  --no-deps: copy the production dependencies (npm ci --omit=dev --ignore-scripts) into $app/node_modules"
fi
chmod -R u=rwX,go=rX "$staging"
rm -rf "$app"
mv "$staging" "$app"
trap - EXIT
echo "  application in $app"

# 3. Configuration: the directory belongs to the service user so edits made as that user stay readable by
#    the service; the service itself cannot write there (ProtectSystem=strict).
install -d -m 0750 "$etc" "$etc/certs"
if [[ -e "$etc/oms-gateway.yaml" ]]; then
  echo "  kept the existing $etc/oms-gateway.yaml"
else
  install -m 0640 "$source_dir/config/oms-gateway.example.yaml" "$etc/oms-gateway.yaml"
  # The pid file in the unit's RuntimeDirectory, so the editing commands tell the service to reload.
  "$node" "$source_dir/dist/src/cli/main.js" config set pidFile "$PID_FILE" --config "$etc/oms-gateway.yaml" >/dev/null
  chmod 0640 "$etc/oms-gateway.yaml"
  echo "  wrote $etc/oms-gateway.yaml (every setting documented; pidFile: $PID_FILE)"
fi
[[ -n "$root" ]] || chown -R "$SERVICE_USER:$SERVICE_USER" "$etc"

# 4. The unit, and a drop-in when node is not where the unit expects it.
install -d -m 0755 "$unit_dir"
install -m 0644 "$source_dir/deploy/systemd/oms-gateway.service" "$unit_dir/oms-gateway.service"
dropin="$unit_dir/oms-gateway.service.d/node.conf"
if [[ "$node" != "$UNIT_NODE" ]]; then
  install -d -m 0755 "$(dirname "$dropin")"
  exec_start="$(sed -n "s|^ExecStart=$UNIT_NODE |ExecStart=$node |p" "$source_dir/deploy/systemd/oms-gateway.service")"
  printf '# Written by install.sh: Node.js is %s here.\n[Service]\nExecStart=\n%s\n' "$node" "$exec_start" >"$dropin"
  chmod 0644 "$dropin"
  echo "  unit drop-in $dropin runs $node"
else
  rm -f "$dropin"
fi
echo "  unit in $unit_dir/oms-gateway.service"

# 5. The command for operators. Its node gets the unit's node options, so `oms-gateway start` run by hand
#    starts the gateway as the service does.
node_options="$(sed -n "s|^ExecStart=$UNIT_NODE \(.*\) /opt/oms-gateway/dist/src/cli/main.js .*|\1|p" "$source_dir/deploy/systemd/oms-gateway.service")"
install -d -m 0755 "$(dirname "$bin")"
cat >"$bin" <<EOF
#!/bin/sh
# oms-gateway management commands (written by install.sh). Run as root, they run as $SERVICE_USER so a
# rewritten /etc/oms-gateway/oms-gateway.yaml stays readable by the service.
: "\${OMS_GATEWAY_CONFIG:=/etc/oms-gateway/oms-gateway.yaml}"
export OMS_GATEWAY_CONFIG
if [ "\$(id -u)" = 0 ]; then
  exec runuser -u $SERVICE_USER -- "$node" $node_options /opt/oms-gateway/dist/src/cli/main.js "\$@"
fi
exec "$node" $node_options /opt/oms-gateway/dist/src/cli/main.js "\$@"
EOF
chmod 0755 "$bin"
echo "  command $bin"

if [[ -z "$root" && -d /run/systemd/system ]]; then systemctl daemon-reload; fi

cat <<EOF

Next steps:
  1. Edit /etc/oms-gateway/oms-gateway.yaml (or use the commands: oms-gateway allowed-host add ..., user add ...),
     then check it:                 sudo oms-gateway config check
  2. Start it now and at boot:      sudo systemctl enable --now oms-gateway
  3. Watch it:                      journalctl -u oms-gateway -f -o cat
                                    curl -fsS http://127.0.0.1:9464/readyz
  4. Point the agents at http://$(hostname -f 2>/dev/null || hostname):8080 (see README, "Point the agents at the gateway").
After a configuration change:       sudo systemctl reload oms-gateway
EOF
