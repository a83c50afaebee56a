#!/usr/bin/env bash
# Installs, with apt, what the tests need besides Node.js: the real clients, proxies and tools they drive.
# Safe to run again: only what is missing is installed. Run as root, or as a user who may sudo (only the
# apt-get commands run through sudo). Used by .ci/run and by the README's quick start:
#   scripts/install-test-tools.sh && npm ci && npm test
set -euo pipefail

packages=()
# Real clients for the interoperability tests (the Linux agent is Ruby; onboarding uses curl).
command -v curl >/dev/null || packages+=(curl)
command -v ruby >/dev/null || packages+=(ruby)
command -v python3 >/dev/null || packages+=(python3)
command -v openssl >/dev/null || packages+=(openssl)
# Deployment files: the load balancer of the failover test, and `systemd-analyze verify` for the unit.
command -v haproxy >/dev/null || packages+=(haproxy)
command -v systemd-analyze >/dev/null || packages+=(systemd)
# The benchmark's smoke test (test/bench/): Squid as the proxy to compare with, hey as the load generator.
# Squid is also the real relay (parent) proxy of test/e2e/relay.test.ts.
command -v squid >/dev/null || packages+=(squid)
command -v hey >/dev/null || packages+=(hey)
# Observability: a real Prometheus scrapes the gateway, promtool checks metrics and alert rules, and
# logrotate rotates the gateway's log file.
command -v prometheus >/dev/null || packages+=(prometheus)
command -v logrotate >/dev/null || packages+=(logrotate)

if ((${#packages[@]} == 0)); then
  echo "install-test-tools: everything the tests need is installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-test-tools: missing ${packages[*]}; this script installs them with apt-get (Debian, Ubuntu)," >&2
  echo "install-test-tools: which this machine does not have: install them with its package manager" >&2
  exit 1
fi
as_root=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null; then
    echo "install-test-tools: missing ${packages[*]}; run this script as root to install them" >&2
    exit 1
  fi
  as_root=(sudo)
fi
echo "install-test-tools: installing ${packages[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
