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
  --log-level LEVEL               fatal|error|warn|info|debug|trace|silent (default info)

Signals: SIGTERM/SIGINT drain (open tunnels get timeouts.shutdownGraceSeconds), a second one exits at once.
`,
  config: `Usage: oms-gateway config check [FILE] [--config FILE] [--json] [start flags...]

Validate a configuration with the same loader as 'start' and print the effective configuration,
password hashes redacted. Start flags (--listen, --allow-host, ...) are applied as 'start' would.
Exit status 0 when valid, 2 with every problem listed (file:line: key: expected ...) when not.
`,
  user: `Usage: oms-gateway user add NAME [--config FILE]
       oms-gateway user remove NAME [--config FILE]
       oms-gateway user list [--config FILE] [--json]

Proxy users for 'auth.mode: basic', stored as salted scrypt hashes in the configuration file.
'user add' reads the password from standard input (one trailing newline removed), or prompts
without echo at a terminal; it creates a missing file (with auth.mode: basic) and replaces the
password of an existing user. The file is validated before it is written, written atomically,
and given mode 0600.

  printf %s 'secret' | oms-gateway user add agent --config /etc/oms-gateway/oms-gateway.yaml
`,
};
