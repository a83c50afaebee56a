// Help texts, one per command. Flag names and defaults here are a public interface: keep them stable.

export const USAGE: Readonly<Record<string, string>> = {
  main: `oms-gateway — allowlisting HTTP CONNECT gateway for Azure monitoring agents

Usage: oms-gateway <command> [options]

Commands:
  start                 run the gateway (default: embedded configuration, listening on port 8080)
  config check [FILE]   validate a configuration and print the effective result (secrets redacted)
  user add NAME         add or update a proxy user (password from stdin or a prompt)
  user remove NAME      remove a proxy user
  user list             list proxy users
  status                summary of a running gateway from its metrics endpoint
  cert generate|show|request
                        certificates of TLS listeners: private CA and server certificate, CSR

Options:
  --help, -h            help for a command: oms-gateway <command> --help
  --version, -v         print the version

Configuration file: --config FILE, else $OMS_GATEWAY_CONFIG, else the embedded default.
Exit status: 0 success, 1 failure at run time, 2 bad usage or bad configuration.
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
  --agents LIST                   agent presets, comma-separated: legacy, ama, arc, hybrid-worker
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

Signals: SIGTERM/SIGINT drain (open tunnels get timeouts.shutdownGraceSeconds), a second one exits at once.
SIGHUP and SIGUSR2 reopen the log file (log.file) after logrotate moved it.
`,
  config: `Usage: oms-gateway config check [FILE] [--config FILE] [--json] [start flags...]

Validate a configuration with the same loader as 'start' and print the effective configuration,
password hashes redacted, followed by the effective allowlist with the source of each entry
(preset:<agent>:<cloud>, operator or flag). Start flags (--listen, --allow-host, --agents, ...) are
applied as 'start' would.
Exit status 0 when valid, 2 with every problem listed (file:line: key: expected ...) when not.
`,
  user: `Usage: oms-gateway user add NAME [--config FILE] [--metrics]
       oms-gateway user remove NAME [--config FILE] [--metrics]
       oms-gateway user list [--config FILE] [--json] [--metrics]

Proxy users for 'auth.mode: basic', stored as salted scrypt hashes in the configuration file.
'user add' reads the password from standard input (one trailing newline removed), or prompts
without echo at a terminal; it creates a missing file (with auth.mode: basic) and replaces the
password of an existing user. The file is validated before it is written, written atomically,
and given mode 0600.

With --metrics the users are the scrapers of the metrics endpoint (metrics.users): when there
is at least one, GET /metrics needs Basic credentials (health probes never do).

  printf %s 'secret' | oms-gateway user add agent --config /etc/oms-gateway/oms-gateway.yaml
  printf %s 'scrape' | oms-gateway user add prometheus --metrics --config /etc/oms-gateway/oms-gateway.yaml
`,
  status: `Usage: oms-gateway status [--metrics-url URL] [--metrics-user NAME] [--ca FILE] [--config FILE] [--json]

A summary of a running gateway read from its metrics endpoint and /readyz: state, uptime,
connected clients, active tunnels, tunnels and requests by outcome, bytes, errors, the top
rejection reasons and upstream errors.

  --metrics-url URL     the metrics endpoint (default: metrics.listen and metrics.path of the
                        configuration, as 'start' would load it)
  --metrics-user NAME   Basic credentials for the endpoint; the password is read from standard input
  --ca FILE             CA certificate (PEM) that signed an https:// endpoint's certificate
  --json                one JSON object instead of the table

Exit status 0 when the endpoint answered, 1 when it could not be read.
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
