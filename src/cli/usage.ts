// Help texts, one per command. Flag names and defaults here are a public interface: keep them stable.

export const USAGE: Readonly<Record<string, string>> = {
  main: `oms-gateway — allowlisting HTTP CONNECT gateway for Azure monitoring agents

Usage: oms-gateway <command> [options]

Commands:
  start                 run the gateway (default: embedded configuration, listening on port 8080)
  config check [FILE]   validate a configuration and print the effective result (secrets redacted)
  config get [KEY]      show settings of the file, or one (e.g. timeouts.connectSeconds)
  config set KEY VALUE  change one setting; config unset KEY goes back to its default
  allowed-host add|remove|list PATTERN[:PORTS]
                        the operator's allowlist entries; remove also disables a built-in host
  allowed-client-cert add|remove|list --subject SUBJECT
                        client-certificate subjects agents may present
  relay-proxy set URL|get|clear
                        the parent proxy outbound tunnels go through
  user add NAME         add or update a proxy user (password from stdin or a prompt)
  user remove NAME      remove a proxy user
  user list             list proxy users
  reload                validate the configuration file and tell the running gateway to reload it
  doctor                check DNS, TCP, TLS and clock for every allowed endpoint from this host
  agent-config          the proxy settings of each agent for this gateway; --check LINE for proxy.conf
  status                summary of a running gateway from its metrics endpoint
  policy test HOST[:PORT]
                        would the gateway allow this request? the decision, entry, source and hint
  cert generate|show|request
                        certificates of TLS listeners: private CA and server certificate, CSR
  presets list|show NAME|diff
                        the installed preset data, a preset's entries and sources, what a reload adds
  completion bash       a bash completion script for these commands and options
  man                   this help as a manual page (man -l <(oms-gateway man))

Options:
  --help, -h            help for a command: oms-gateway <command> --help
  --version, -v         print the version

Configuration file: --config FILE, else $OMS_GATEWAY_CONFIG, else the embedded default.
Exit status: 0 success, 1 failure at run time, 2 bad usage or bad configuration.
With --json a failure is also one JSON object on standard output: {"ok":false,"error":{"code","message"}}
(code USAGE, CONFIG_INVALID with "issues", COMMAND_FAILED or ERROR).
`,
  start: `Usage: oms-gateway start [options]

Run the gateway. Flags override the configuration file.

  --config FILE                   configuration file (default: $OMS_GATEWAY_CONFIG, else embedded default)
  --listen HOST:PORT              listen address, repeatable; replaces the file's list
                                  (default 0.0.0.0:8080 and [::]:8080)
  --resolve PATTERN=ADDRESS[:PORT]
                                  connect to ADDRESS for allowed names matching PATTERN, repeatable
                                  e.g. '*.ods.opinsights.azure.com=10.0.0.5:443'
  --allow-host PATTERN[:PORTS]    add an allowlist entry, repeatable (default port 443)
                                  e.g. 'crl.microsoft.com:80' or '*.example.com:443,8443'
  --auth anonymous|basic          proxy authentication mode (default anonymous)
  --agents LIST                   agent presets, comma-separated: legacy, ama, arc, hybrid-worker,
                                  arc-gateway, kubernetes, azure-local
                                  (default legacy,ama; an empty value leaves only allowlist entries)
  --policy-mode enforce|report    report relays what the allowlist would refuse and logs it as
                                  would-deny, NOT enforcing it (default enforce)
  --proxy-protocol-from CIDR      the --listen listeners accept PROXY protocol v1/v2 headers from
                                  these load balancers, repeatable (HAProxy send-proxy-v2)
  --log-level LEVEL               fatal|error|warn|info|debug|trace|silent (default info)
  --log-format json|pretty        JSON lines (default) or pretty lines for a terminal
  --metrics-listen HOST:PORT      metrics, /healthz and /readyz listener (default 127.0.0.1:9464)
  --workers auto|N                worker processes sharing the listeners (default auto: one per core;
                                  1: a single process)
  --tls-cert FILE --tls-key FILE  the --listen listeners also speak TLS with this certificate and key
                                  (PEM; plain-HTTP clients are still served on the same port)

  --pid-file PATH                 write the process ID there (default: pidFile, else none); the editing
                                  commands and 'reload' find the running gateway through it

Signals: SIGTERM/SIGINT drain (open tunnels get timeouts.shutdownGraceSeconds), a second one exits at once.
SIGHUP reloads the configuration file (same flags; an invalid file is refused and the running
configuration kept) and, like SIGUSR2, reopens the log file (log.file) after logrotate moved it.
`,
  config: `Usage: oms-gateway config check [FILE] [--config FILE] [--json] [-q] [--strict] [start flags...]
       oms-gateway config get [KEY] [--config FILE] [--json]
       oms-gateway config set KEY VALUE [--config FILE] [--pid-file PATH] [--json]
       oms-gateway config unset KEY [--config FILE] [--pid-file PATH] [--json]

check: validate a configuration with the same loader as 'start' and print the effective configuration,
password hashes redacted, followed by the effective allowlist with the source of each entry
(preset:<agent>:<cloud>, operator or flag). The configuration is printed with the file's own keys
(cloud, agents, allowedHosts, ...), so it can be copied back; --json prints it as the gateway holds it.
Start flags (--listen, --allow-host, --agents, ...) are applied as 'start' would. Beyond the loader it
checks what start would hit, as the user running it: a metrics listener on a proxy listener's address,
the directories of log.file and pidFile, the metrics certificate files. Warnings (on standard error):
users while auth.mode is anonymous, policy.mode report, anonymous or Basic over plain HTTP on a
non-loopback listener.
  -q, --quiet   print nothing; the exit status alone
  --strict      warnings fail the check (exit 1)
Exit status 0 when valid (warnings too, unless --strict), 2 with every problem listed
(file:line: key: expected ...) when not or when start would fail, 1 for warnings under --strict.

get: every setting of the file with its value and whether the file sets it or it has its default;
with KEY (dotted, as in the file: listen, cloud, timeouts.connectSeconds, ...) that value alone,
a list one item per line. Secrets show as [redacted].

set: VALUE is YAML (5, true, public, '[public, usgov]'); a single value for a list key makes a
one-item list. unset removes the key, so it has its default again. The whole resulting file is
validated first (an invalid edit changes nothing and says why), comments are kept, the file is
replaced atomically, and a running gateway is told to reload (pid file: --pid-file, else pidFile).
Users and passwords are refused here: use 'user add' and 'relay-proxy set --password-stdin'.

  oms-gateway config set timeouts.connectSeconds 5 --config /etc/oms-gateway/oms-gateway.yaml
`,
  'allowed-host': `Usage: oms-gateway allowed-host add PATTERN[:PORTS] [--config FILE] [--pid-file PATH] [--json]
       oms-gateway allowed-host remove PATTERN[:PORTS] [--config FILE] [--pid-file PATH] [--json]
       oms-gateway allowed-host list [--effective] [--config FILE] [--json]

add: an allowedHosts entry (port 443 when none is given); ports of an existing entry of the same
pattern are merged; a disabled built-in host is enabled again; nothing is written when the host
is already allowed. remove: the given ports (else every port) of the pattern leave allowedHosts;
a built-in host is added to disabledDefaultHosts. list: every entry with its ports and source,
and the workspaces and regions that scope them (--effective: equal entries of several presets as
one row).
Edits are validated, keep comments, are written atomically and reload a running gateway.

  oms-gateway allowed-host add crl.microsoft.com:80
  oms-gateway allowed-host remove '*.azure-automation.net'
`,
  'allowed-client-cert': `Usage: oms-gateway allowed-client-cert add --subject SUBJECT [--config FILE] [--pid-file PATH] [--json]
       oms-gateway allowed-client-cert remove --subject SUBJECT [--config FILE] [--pid-file PATH] [--json]
       oms-gateway allowed-client-cert list [--config FILE] [--json]

The allowedClientCertificates list: subjects of the client certificates agents may present inside
their tunnels (see config/oms-gateway.example.yaml for how they are matched).

  oms-gateway allowed-client-cert add --subject 'CN=0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a'
`,
  'relay-proxy': `Usage: oms-gateway relay-proxy set URL [--username NAME [--password-stdin]] [--bypass PATTERN]...
                                [--no-bypass] [--ca-file FILE] [--config FILE] [--pid-file PATH] [--json]
       oms-gateway relay-proxy get [--config FILE] [--json]
       oms-gateway relay-proxy clear [--config FILE] [--pid-file PATH] [--json]

The parent proxy outbound tunnels and plain-HTTP requests go through (relayProxy). URL is
http://HOST:PORT or https://HOST:PORT. With --username the password is read from standard input
(--password-stdin) or a prompt, never from the command line; it is stored as given (the relay needs
it) and the file gets mode 0600. 'get' never shows it. Without --username stored credentials are
dropped. --bypass (repeatable) replaces the list of names reached directly; --no-bypass empties it.

  printf %s 'PASSWORD' | oms-gateway relay-proxy set http://proxy.corp.example:3128 --username gw --password-stdin
`,
  reload: `Usage: oms-gateway reload [--config FILE] [--pid-file PATH] [--json]

Validate the configuration file with the loader 'start' uses, then send SIGHUP to the running
gateway (pid file: --pid-file, else pidFile) and wait up to 40 s for its answer, which it writes
beside the pid file (NAME.state.json): the generation it runs, what it applied, what needs a restart
(keys read only at start, e.g. workers, limits.maxHeaderBytes, log.file, metrics.listen: the old
value keeps running) and what a flag of 'start' pins (--listen, --agents, ...: the file cannot
change it). An invalid file is refused here, every problem listed (exit 2), and the gateway is not
disturbed. Exit 1 when no gateway runs with that pid file, when it could not apply the file (e.g. a
listener address in use: it keeps its configuration), when a flag pins a changed key, or when it
did not answer in time. A change that needs a restart exits 0 and says so.
The gateway logs config-reloaded (1200) with what changed, or config-invalid (401) or reload-failed.
The editing commands (config set, allowed-host, user, ...) do the same after they saved the file.
Before the signal, the preset entries the reload would add or remove are worked out (against the
gateway's snapshot beside its pid file) and, once it applied the file, listed (see: help presets).
`,
  presets: `Usage: oms-gateway presets list [--json]
       oms-gateway presets show NAME [--cloud public|usgov|china] [--json]
       oms-gateway presets diff [--config FILE] [--pid-file PATH] [--json]

The agent presets' entries are data installed with the package (config/presets/<preset>.<cloud>.json,
version in config/presets/version.json), each entry with the Microsoft page it follows and the date it
was checked against it. 'list' shows the presets, the clouds Microsoft documents each for, and the
data version; 'show' one preset's entries, ports, check dates and pages (all its clouds, or --cloud).

'diff' compares the preset entries the running gateway uses (the snapshot it writes beside its pid
file, <pid file without .pid>.presets.json, at start and after each reload) with those the installed
data and the configuration file give now: what 'oms-gateway reload' would add (+) or remove (-).
Run it after upgrading the package, before reloading. A start with changed entries logs
presets-changed (1103); a reload lists them in its config-reloaded record.
OMS_GATEWAY_PRESETS_DIR=DIR reads the data from DIR instead (tests; trying out a newer copy).
`,
  doctor: `Usage: oms-gateway doctor [--workspace ID] [--host NAME[:PORT]]... [--config FILE]
                          [--resolve PATTERN=ADDRESS[:PORT]]... [--ca FILE] [--timeout SECONDS] [--json]

From this host, for every allowlisted endpoint: DNS, TCP, the TLS handshake with certificate
verification, and the clock against the service's Date header (agents are refused at 15 minutes
off), through the relay proxy when one is set. Wildcard entries are tested on <ID>.<suffix> with
--workspace (else the first of 'workspaces'), or a well-known name; --host adds names. --resolve
and --ca point it at local origins or Private Link addresses. One line per check: a mark (✓ ok,
! warning, ✗ failed, - not tested), the figure and a hint. Exit status 1 when any check failed.
`,
  'agent-config': `Usage: oms-gateway agent-config [--user NAME [--password-stdin | --generate-password]] [--host NAME]
                                [--ca FILE] [--config FILE] [--json]
       oms-gateway agent-config --check LINE [--json]

For each listener of this gateway: the Log Analytics agent's onboarding -p argument and
/etc/opt/microsoft/omsagent/proxy.conf line (with a command that writes it without a trailing
newline), the Windows agent's OPINSIGHTS_PROXY_URL/_USERNAME/_PASSWORD, and the Azure Monitor
Agent's proxy settings. --host is the name agents use (default: this machine's name for 0.0.0.0
and ::). With --user the password is shown as <password>, or, given with --password-stdin, checked
against the stored hash and filled in. --generate-password makes a new password of 24 letters and
digits (AMA on Linux puts it into http://user:pass@host unencoded, and shells need no quoting), fills
it in, and prints the 'user add' command that stores it. Also printed: the Arc agent's
'azcmagent config set proxy.url' line (Arc sends no proxy credentials) with the note for machines
onboarded with --gateway-id (arcGateways), and the Kubernetes monitoring agents' proxy settings (AKS
--http-proxy-config, az connectedk8s connect): an https:// proxy for a TLS listener, with the CA
certificate of --ca FILE as trustedCa.

--check says whether the Linux agent will parse a proxy.conf line and what it will do: its Ruby
daemon strips http:// or https://, refuses other schemes, reads [user:pass@]host[:port] (no ':' in
the user, no '@' in the password, nothing URL-decoded, no IPv6) and, when the line does not parse,
connects DIRECTLY without a word; a trailing newline breaks the agent's configuration component;
without a port Ruby uses 80 and curl 1080. LINE '-' reads the line from standard input as it is.
Exit status 0 when the agent will use the gateway, 1 when not.
`,
  user: `Usage: oms-gateway user add NAME [--config FILE] [--metrics] [--pid-file PATH] [--json]
       oms-gateway user remove NAME [--config FILE] [--metrics] [--pid-file PATH] [--json]
       oms-gateway user list [--config FILE] [--json] [--metrics]

Proxy users for 'auth.mode: basic', stored as salted scrypt hashes in the configuration file.
'user add' reads the password from standard input (one trailing newline removed), or prompts
without echo at a terminal; it creates a missing file (with auth.mode: basic) and replaces the
password of an existing user. The file is validated before it is written, written atomically,
and given mode 0600; a running gateway is told to reload (pid file: --pid-file, else pidFile).
'user add' warns when the Linux agent cannot carry the name or password in its proxy line.

With --metrics the users are the scrapers of the metrics endpoint (metrics.users): when there
is at least one, GET /metrics needs Basic credentials (health probes never do).

  printf %s 'secret' | oms-gateway user add agent --config /etc/oms-gateway/oms-gateway.yaml
  printf %s 'scrape' | oms-gateway user add prometheus --metrics --config /etc/oms-gateway/oms-gateway.yaml
`,
  status: `Usage: oms-gateway status [--metrics-url URL] [--metrics-user NAME] [--ca FILE] [--pid-file PATH]
                          [--config FILE] [--json]

A summary of a running gateway: from the state file beside its pid file, its policy mode (loudly
when report mode does not enforce the allowlist, with the would-deny count), auth mode, listeners,
workers, configuration file, generation and the last reload's outcome; from its metrics endpoint and
/readyz, state, uptime, connected clients, active tunnels, tunnels and requests by outcome, bytes,
errors, the top rejection reasons and upstream errors. Either source is enough. A configuration file
that no longer loads is reported, not fatal: its pidFile and metrics keys are still read.

  --metrics-url URL     the metrics endpoint (default: metrics.listen and metrics.path of the
                        configuration, as 'start' would load it)
  --metrics-user NAME   Basic credentials for the endpoint; the password is read from standard input
  --ca FILE             CA certificate (PEM) that signed an https:// endpoint's certificate
  --pid-file PATH       the gateway's pid file (default: pidFile of the configuration)
  --json                one JSON object instead of the table

Exit status 0 when the endpoint or the state file answered, 1 when neither could be read.
`,
  policy: `Usage: oms-gateway policy test HOST[:PORT] [--method CONNECT|GET] [--user NAME] [--from IP]
                          [--config FILE] [start flags...] [--json]

Would the gateway let this request through? The configuration is loaded as 'start' loads it (the
file, then the start flags given here: --allow-host, --agents, --policy-mode, ...) and the answer
comes from the function the gateway itself calls for every request: allowed, denied (403) or, in
report mode, would-deny (relayed, NOT enforced); the reason, the matching allowlist entry and its
source (preset:<agent>:<cloud>, operator for allowedHosts, flag for --allow-host), the hint and the
command that would allow it. Workspace and region scoping and, for an IP literal, deniedAddresses
are applied as the gateway applies them; a name's DNS answers are checked only when it connects.

  --method CONNECT|GET  CONNECT (default; HOST:PORT, port 443 when none) or a plain-HTTP GET
                        (http://HOST[:PORT]/, port 80 when none)
  --user NAME           the authenticated user (with auth.mode basic, an unknown name is refused 407)
  --from IP             the client address (default 127.0.0.1); its clients: rule, if any, decides
  --json                one JSON object: outcome, allow, reason, entry, sources, hint, notes

Exit status 0 allowed, 1 denied or would-deny (or 407), 2 bad usage or bad configuration.

  oms-gateway policy test 0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a.ods.opinsights.azure.com
  oms-gateway policy test crl.microsoft.com:80 --method GET
`,
  completion: `Usage: oms-gateway completion bash

A bash completion script for every command, subcommand and option, written from these help texts.

  oms-gateway completion bash > /etc/bash_completion.d/oms-gateway
`,
  man: `Usage: oms-gateway man

This help, every command's page included, as a manual page (roff) on standard output.

  oms-gateway man > /usr/local/share/man/man1/oms-gateway.1    or read it at once: man -l <(oms-gateway man)
`,
  cert: `Usage: oms-gateway cert generate [--out DIR] [--host NAME_OR_IP]... [--key-size BITS] [--days N]
                                [--ca-days N] [--ca-cert FILE --ca-key FILE] [--force] [--json]
       oms-gateway cert request [--out DIR] [--host NAME_OR_IP]... [--subject "CN=..., O=..."]
                                [--key-size BITS] [--key FILE] [--force] [--json]
       oms-gateway cert show FILE [--json]

generate  a private CA and a server certificate for the gateway's names and addresses (SANs):
          DIR/ca.crt, DIR/ca.key, DIR/gateway.crt, DIR/gateway.key (keys mode 0600). With --ca-cert
          and --ca-key an existing CA (RSA key) signs instead; its certificate is copied to ca.crt.
          Agents and 'curl --proxy-cacert' trust ca.crt.
request   a private key and a certificate signing request for an enterprise CA: DIR/gateway.key
          (unless --key names an existing RSA key) and DIR/gateway.csr.
show      subject, SANs, issuer, validity, fingerprint and key of each certificate (and request
          or key) in a PEM file.

  --out DIR           where to write (default: certs, relative to the working directory)
  --host NAME_OR_IP   a DNS name or IP address the gateway is reached by, repeatable; the first is
                      the common name (default: this host's name, localhost, 127.0.0.1 and ::1)
  --key-size BITS     RSA key size: 2048 (default), 3072 or 4096
  --days N            validity of the server certificate (default 397)
  --ca-days N         validity of a new CA (default 3650)
  --subject SUBJECT   subject of the request (default CN=<first host>)
  --force             replace files that exist
`,
};
