// The validated, deep-frozen configuration every other module receives. Produced only by config/load.ts;
// nothing downstream reads YAML, flags or process.env.

export type Cloud = 'public' | 'usgov' | 'china';
export type AuthMode = 'anonymous' | 'basic';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** Agent families with an endpoint preset (names in policy/presets.ts, entries in config/presets/). */
export type Agent = 'legacy' | 'ama' | 'arc' | 'hybrid-worker' | 'arc-gateway' | 'kubernetes' | 'azure-local';
/** enforce: refuse what the policy denies; report: relay allowlist denials and record them as would-deny. */
export type PolicyMode = 'enforce' | 'report';

/** One listening socket. `host` is an IP literal ('0.0.0.0', '::', '127.0.0.1'); IPv6 without brackets. */
export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  /** True when this listener comes from the embedded default and may be skipped if the family is absent. */
  readonly optional: boolean;
  /** PROXY protocol from load balancers in front of this listener; absent: no header is accepted. */
  readonly proxyProtocol?: ProxyProtocolConfig | undefined;
  /** TLS for proxy clients on this port (plain clients too, unless requireTls); absent: plain only. */
  readonly tls?: ListenerTlsConfig | undefined;
}

/** `listen: [{address, tls: {...}}]` or `start --tls-cert FILE --tls-key FILE` (proxy/tls-accept.ts, tls/endpoint.ts). */
export interface ListenerTlsConfig {
  /** Absolute paths of the PEM certificate (leaf first, then intermediates) and its private key. */
  readonly cert: string;
  readonly key: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list, TLS 1.2 suites and TLS 1.3 (TLS_...) suites together. */
  readonly ciphers: string;
  /** Refuse plain-HTTP clients (400) instead of serving them on the same port. */
  readonly requireTls: boolean;
  /** Proxy-Authorization on a plain connection: allow, or refuse with 403. */
  readonly plainBasicAuth: 'allow' | 'refuse';
  readonly clientAuth?: ClientAuthConfig | undefined;
  /** How often the files are checked for a new certificate and key. */
  readonly reloadCheckSeconds: number;
}

/** Client certificates for authentication to the proxy itself. */
export interface ClientAuthConfig {
  /** Absolute path of the CA certificate(s), PEM, that client certificates must chain to. */
  readonly ca: string;
  /** Subjects allowed (tls/subjects.ts rule); empty: any certificate the CA issued. */
  readonly subjects: readonly string[];
  /** alternative: a certificate replaces Basic credentials; required: every TLS client needs one. */
  readonly mode: 'alternative' | 'required';
}

/** The look into CONNECT tunnels at the agent's TLS handshake (tls/inspect.ts). */
export interface InspectionConfig {
  readonly enabled: boolean;
  /** Lowest TLS version a ClientHello must offer. */
  readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** A ClientHello without server_name: allow, or close the tunnel. */
  readonly missingSni: 'allow' | 'refuse';
  readonly timeoutSeconds: number;
  /** Bytes read from each side, and the longest handshake message, before the tunnel is closed. */
  readonly maxHandshakeBytes: number;
  /** TLS records read from each side before the tunnel is closed (issue 16: a ClientHello dripped in tiny records). */
  readonly maxHandshakeRecords: number;
  /** With allowedClientCertificates set, TLS 1.3 sessions (certificate encrypted): allow, or close. */
  readonly hiddenClientCertificates: 'allow' | 'refuse';
}

/** `listen: [{address, proxyProtocol: {...}}]` or `start --proxy-protocol-from CIDR` (proxy/proxy-header.ts). */
export interface ProxyProtocolConfig {
  /** Normalised CIDRs of the load balancers allowed to send a header. */
  readonly trusted: readonly string[];
  /** Every connection must come from a trusted address and carry a header. */
  readonly required: boolean;
  /** Time a connection has to send its header (or, when not required, its first byte). */
  readonly headerTimeoutSeconds: number;
  /** Largest v2 header accepted, TLVs included; v1 lines are at most 107 bytes. */
  readonly maxHeaderBytes: number;
}

/** An allowlist entry as written by an operator or a built-in preset, already syntax-checked. */
export interface AllowEntryConfig {
  /** Lower-case pattern: 'exact.name', '*.suffix.name' or an IP literal (IPv6 without brackets). */
  readonly pattern: string;
  readonly ports: readonly number[];
  /** Where the entry came from, for `config check` and deny hints: 'preset:ama:public', 'arcGateways', 'operator', 'flag'. */
  readonly source: string;
}

/** `--resolve PATTERN=ADDRESS[:PORT]`: where to connect for names matching pattern, after policy allowed them. */
export interface HostMappingConfig {
  readonly pattern: string;
  /** IP literal or host name (IPv6 without brackets). */
  readonly address: string;
  /** Port to connect to; undefined keeps the requested port. */
  readonly port: number | undefined;
}

export interface UserConfig {
  readonly name: string;
  /** `scrypt$N$r$p$saltB64$hashB64`, see auth/password.ts. */
  readonly passwordHash: string;
}

/** A per-source rule (`clients:`): authentication and reachable presets for clients in some address ranges. */
export interface ClientRuleConfig {
  /** As written, or the first range when the rule has no name; named in audit records. */
  readonly name: string;
  /** Normalised CIDRs; the most specific range over all rules decides. */
  readonly from: readonly string[];
  readonly auth: AuthMode;
  /** The presets these clients may reach instead of `agents`; undefined: the gateway's. */
  readonly agents: readonly Agent[] | undefined;
  /** The allowlist for these clients when `agents` is set (their presets, then operator and flag entries). */
  readonly allowlist: readonly AllowEntryConfig[] | undefined;
}

export interface AuthConfig {
  readonly mode: AuthMode;
  readonly realm: string;
  /** auth.users and the users of auth.usersFile, in that order. */
  readonly users: readonly UserConfig[];
  /** The separate users file (config/users-file.ts), if any. */
  readonly usersFile?: string | undefined;
  readonly cacheMaxEntries: number;
  readonly cacheTtlSeconds: number;
  readonly throttle: AuthThrottleConfig;
}

/** Failed password checks slow down, then lock out, a client address or a user name (auth/throttle.ts). */
export interface AuthThrottleConfig {
  /** Failures answered at full speed; each further one waits twice as long as the one before. */
  readonly failuresBeforeDelay: number;
  readonly delaySeconds: number;
  readonly maxDelaySeconds: number;
  /** Failures that lock the address or name out for lockoutSeconds; 0 never locks out. */
  readonly lockoutFailures: number;
  readonly lockoutSeconds: number;
  /** An address or name with no failure for this long starts again from zero. */
  readonly windowSeconds: number;
  /** Addresses tracked, and names tracked, at most (least recently failed ones are forgotten first). */
  readonly maxTracked: number;
  /** Password checks under way (delay included) at once for one client address or /64; 0: no cap. */
  readonly maxConcurrentPerClient: number;
  /** Password checks under way (delay included) at once for one claimed user name; 0: no cap. */
  readonly maxConcurrentPerUser: number;
  /** Normalised CIDRs whose clients a lockout of a user name does not refuse. */
  readonly trustedSources: readonly string[];
  /** How long an address that logged in as a user stays exempt from that name's lockout; 0: never exempt. */
  readonly knownSourceSeconds: number;
}

/** Bounds on what clients can make the gateway hold (proxy/limits.ts, proxy/request-head.ts). */
export interface LimitsConfig {
  /** Client connections open at once, over all listeners. */
  readonly maxConnections: number;
  /** Client connections open at once from one address; 0: no limit. */
  readonly maxConnectionsPerClient: number;
  /** CONNECT tunnels open at once for one user (basic mode); 0: no limit. */
  readonly maxTunnelsPerUser: number;
  /** Password checks running or queued at once. */
  readonly maxPendingAuthentications: number;
  /** Length of the request target (the URI or CONNECT authority). */
  readonly maxRequestTargetBytes: number;
  readonly maxHeaderCount: number;
  /** Request line and header fields together (Node's maxHeaderSize). */
  readonly maxHeaderBytes: number;
}

/** One entry of the installed preset data, with the Microsoft page it follows and when it was compared with it. */
export interface PresetDataEntry {
  /** Normalised host pattern (policy/patterns.ts). */
  readonly pattern: string;
  readonly ports: readonly number[];
  /** URL of the Microsoft page that lists the endpoint. */
  readonly source: string;
  /** Date (YYYY-MM-DD) the entry was last compared with that page. */
  readonly checked: string;
  /** What the page writes when the pattern stands for it (`<region>.his.arc.azure.com`), or a caveat. */
  readonly note?: string | undefined;
}

/** `config/presets/<preset>.<cloud>.json`: one preset in one cloud. A missing file: not documented there. */
export interface PresetDataFile {
  readonly preset: Agent;
  readonly cloud: Cloud;
  readonly entries: readonly PresetDataEntry[];
}

/** The preset data the configuration was built with (config/preset-data.ts), every preset of every cloud. */
export interface PresetData {
  /** `config/presets/version.json`: changes whenever any entry does. */
  readonly version: string;
  readonly files: readonly PresetDataFile[];
}

export interface PolicyConfig {
  readonly mode: PolicyMode;
  readonly clouds: readonly Cloud[];
  /** Agent presets whose endpoints are in the allowlist (for every selected cloud). */
  readonly agents: readonly Agent[];
  /** Whether the preset endpoints are in the allowlist at all (`defaultHosts`). */
  readonly includeDefaults: boolean;
  /** Preset patterns the operator removed. */
  readonly disabledDefaults: readonly string[];
  /** The tenant's own Arc gateway addresses (`<prefix>.gw.arc.azure.com`), allowed with the arc-gateway preset. */
  readonly arcGateways: readonly string[];
  /** The preset data in effect: enabled or not, for deny hints and `presets diff`; `config check` shows its version. */
  readonly presets: PresetData;
  /** Final allowlist: enabled presets (minus disabled) plus operator entries, computed once by the loader. */
  readonly allowlist: readonly AllowEntryConfig[];
  /** Workspace IDs (lower-case); empty means any workspace. */
  readonly workspaces: readonly string[];
  /** Azure region names (lower-case); empty means any region. */
  readonly regions: readonly string[];
  /** CIDRs refused after resolution unless a host mapping points there. */
  readonly deniedAddresses: readonly string[];
}

export interface TimeoutsConfig {
  readonly connectSeconds: number;
  readonly requestHeadSeconds: number;
  readonly shutdownGraceSeconds: number;
  /** On SIGTERM, how long readiness reports draining while the listeners still accept, before they close. */
  readonly drainDelaySeconds: number;
  /** Idle time after which TCP keep-alive probes start on both legs of a tunnel. */
  readonly keepAliveSeconds: number;
  /** A tunnel that carried no byte either way for this long is closed; 0: never. */
  readonly tunnelIdleSeconds: number;
  /** After one side of a tunnel sent its FIN, it is closed when the other sends nothing for this long; 0: never. */
  readonly tunnelHalfClosedSeconds: number;
  /** A tunnel is closed this long after it opened; 0: never. */
  readonly tunnelMaxSeconds: number;
  /** Longest wait for a password check (queue and scrypt) before answering 503. */
  readonly authSeconds: number;
  /** Happy Eyeballs (RFC 8305): start connecting to the next address after this long without an answer. */
  readonly connectAttemptDelaySeconds: number;
}

/** Cache of name resolutions (net/dns-cache.ts). */
export interface DnsConfig {
  /** Names kept at once; 0: no cache. */
  readonly cacheMaxEntries: number;
  /** Floor and ceiling for the TTL DNS reports. */
  readonly minTtlSeconds: number;
  readonly maxTtlSeconds: number;
  /** How long "no such name" is remembered; 0: not at all. */
  readonly negativeTtlSeconds: number;
}

/** `auto`: one worker process per available core; a number: that many (1 runs without a supervisor). */
export type WorkersSetting = 'auto' | number;
export type WorkerScheduling = 'round-robin' | 'kernel';

export type LogFormat = 'json' | 'pretty';

export interface LogConfig {
  readonly level: LogLevel;
  /** json: one JSON object per line; pretty: coloured, aligned lines for a person at a terminal. */
  readonly format: LogFormat;
  /** Absolute path of the log file, reopened on SIGHUP and SIGUSR2; undefined: standard output. */
  readonly file: string | undefined;
  /** 0: each line at once; otherwise lines are written once this many bytes wait, and at least every 100 ms. */
  readonly bufferBytes: number;
}

/** The metrics and health listener (see observability/metrics-server.ts). */
export interface MetricsConfig {
  readonly enabled: boolean;
  readonly listen: ListenerConfig;
  /** Path of the Prometheus exposition, e.g. /metrics; /healthz and /readyz are fixed. */
  readonly path: string;
  /** When not empty, scrapes need Basic credentials of one of these users; health probes never do. */
  readonly users: readonly UserConfig[];
  /** Certificate and private key files (PEM) for HTTPS; undefined: plain HTTP. */
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  /** Count traffic per workspace ID, the first label of `<id>.ods.opinsights.azure.com`. */
  readonly workspaceLabels: boolean;
  /** Distinct workspace IDs labelled; the rest share the label "other". */
  readonly maxWorkspaces: number;
  /** /healthz fails when the event loop was stalled longer than this... */
  readonly maxEventLoopDelaySeconds: number;
  /** ...within this many seconds: how long a stall stays reported to every poller after it ended. */
  readonly stallReportSeconds: number;
}

/** The parent proxy outbound tunnels go through (see proxy/parent.ts). */
export interface RelayProxyConfig {
  readonly protocol: 'http' | 'https';
  /** Lower-case name or IP literal; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, without credentials: safe to show. */
  readonly url: string;
  readonly username: string | undefined;
  /** Sent to the parent in clear (inside its Basic credentials); never logged or printed. */
  readonly password: string | undefined;
  /** Host patterns reached directly rather than through the relay. */
  readonly bypass: readonly string[];
  /** Extra CA certificates (PEM) trusted for an https:// relay, and the file they came from. */
  readonly caFile: string | undefined;
  readonly ca: string | undefined;
}

/** The optional check that the gateway itself reaches the AMA control service (see service/upstream-probe.ts). */
export interface UpstreamProbeConfig {
  readonly enabled: boolean;
  /** `https://...`; the first cloud's `global.handler.control.monitor...` /ping when not set. */
  readonly url: string;
  /** Text the answer's body must contain. */
  readonly expect: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  /** Consecutive failures after which /readyz answers 503; 0: never (report only). */
  readonly failuresBeforeUnready: number;
  /** Extra CA certificates (PEM) trusted for the probe's TLS, and the file they came from. */
  readonly caFile: string | undefined;
  readonly ca: string | undefined;
}

export interface ReloadConfig {
  /** Close open tunnels whose user or target the new configuration no longer allows. */
  readonly closeDeniedTunnels: boolean;
  /** With watch, how long the file must stay unchanged before it is reloaded. */
  readonly debounceSeconds: number;
}

export interface GatewayConfig {
  readonly listen: readonly ListenerConfig[];
  readonly policy: PolicyConfig;
  readonly resolve: readonly HostMappingConfig[];
  readonly auth: AuthConfig;
  /** Per-source rules; clients in none of their ranges get auth.mode and the gateway's allowlist. */
  readonly clients: readonly ClientRuleConfig[];
  readonly timeouts: TimeoutsConfig;
  readonly limits: LimitsConfig;
  readonly log: LogConfig;
  readonly metrics: MetricsConfig;
  /** Where `start` writes its process ID for `oms-gateway reload` and the editing commands; undefined: nowhere. */
  readonly pidFile: string | undefined;
  /** Reload when the configuration file changes. */
  readonly watch: boolean;
  readonly reload: ReloadConfig;
  readonly relayProxy: RelayProxyConfig | undefined;
  readonly upstreamProbe: UpstreamProbeConfig;
  /** Client-certificate subjects agents may present inside their tunnels (enforced by the TLS inspection). */
  readonly allowedClientCertificates: readonly string[];
  readonly inspection: InspectionConfig;
  readonly workers: WorkersSetting;
  /**
   * How worker processes get connections: `round-robin`, the supervisor accepts and deals them out evenly;
   * `kernel`, every worker accepts from the shared socket (cheaper per connection, less even).
   */
  readonly workerScheduling: WorkerScheduling;
  readonly dns: DnsConfig;
  /** Path of the file it was loaded from, or undefined for the embedded default. */
  readonly sourcePath: string | undefined;
}
