// The validated, deep-frozen configuration every other module receives. Produced only by config/load.ts;
// nothing downstream reads YAML, flags or process.env.

// The parts each layer reads are declared by that layer (policy/, auth/, tls/) and composed here.

import type { AuthConfig, AuthMode, UserConfig } from '../auth/config-types.js';
import type { Agent, AllowEntryConfig, PolicyConfig } from '../policy/config-types.js';
import type { InspectionConfig, ListenerTlsConfig } from '../tls/config-types.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

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


/** `--resolve PATTERN=ADDRESS[:PORT]`: where to connect for names matching pattern, after policy allowed them. */
export interface HostMappingConfig {
  readonly pattern: string;
  /** IP literal or host name (IPv6 without brackets). */
  readonly address: string;
  /** Port to connect to; undefined keeps the requested port. */
  readonly port: number | undefined;
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
export interface ParentProxyConfig {
  readonly protocol: 'http' | 'https';
  /** Lower-case name or IP literal; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, without credentials: safe to show. */
  readonly url: string;
  readonly username: string | undefined;
  /** Sent to the parent in clear (inside its Basic credentials); never logged or printed. */
  readonly password: string | undefined;
  /** Host patterns reached directly rather than through the parent. */
  readonly bypass: readonly string[];
  /** Extra CA certificates (PEM) trusted for an https:// parent, and the file they came from. */
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
  readonly relayProxy: ParentProxyConfig | undefined;
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
