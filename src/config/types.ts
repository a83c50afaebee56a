// The validated, deep-frozen configuration every other module receives. Produced only by config/load.ts;
// nothing downstream reads YAML, flags or process.env.

export type Cloud = 'public' | 'usgov' | 'china';
export type AuthMode = 'anonymous' | 'basic';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** One listening socket. `host` is an IP literal ('0.0.0.0', '::', '127.0.0.1'); IPv6 without brackets. */
export interface ListenerConfig {
  readonly host: string;
  readonly port: number;
  /** True when this listener comes from the embedded default and may be skipped if the family is absent. */
  readonly optional: boolean;
}

/** An allowlist entry as written by an operator or a built-in preset, already syntax-checked. */
export interface AllowEntryConfig {
  /** Lower-case pattern: 'exact.name', '*.suffix.name' or an IP literal (IPv6 without brackets). */
  readonly pattern: string;
  readonly ports: readonly number[];
  /** Where the entry came from, for `config check` and deny hints: 'default:public', 'operator', 'flag'. */
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

export interface AuthConfig {
  readonly mode: AuthMode;
  readonly realm: string;
  readonly users: readonly UserConfig[];
  readonly cacheMaxEntries: number;
  readonly cacheTtlSeconds: number;
}

export interface PolicyConfig {
  readonly clouds: readonly Cloud[];
  /** Whether the built-in endpoints of the selected clouds are in the allowlist. */
  readonly includeDefaults: boolean;
  /** Built-in patterns the operator removed. */
  readonly disabledDefaults: readonly string[];
  /** Final allowlist: defaults (minus disabled) plus operator entries, computed once by the loader. */
  readonly allowlist: readonly AllowEntryConfig[];
  /** Workspace IDs (lower-case); empty means any workspace. */
  readonly workspaces: readonly string[];
  /** CIDRs refused after resolution unless a host mapping points there. */
  readonly deniedAddresses: readonly string[];
}

export interface TimeoutsConfig {
  readonly connectSeconds: number;
  readonly requestHeadSeconds: number;
  readonly shutdownGraceSeconds: number;
  /** Idle time after which TCP keep-alive probes start on both legs of a tunnel. */
  readonly keepAliveSeconds: number;
}

export interface LogConfig {
  readonly level: LogLevel;
}

export interface GatewayConfig {
  readonly listen: readonly ListenerConfig[];
  readonly policy: PolicyConfig;
  readonly resolve: readonly HostMappingConfig[];
  readonly auth: AuthConfig;
  readonly timeouts: TimeoutsConfig;
  readonly log: LogConfig;
  /** Path of the file it was loaded from, or undefined for the embedded default. */
  readonly sourcePath: string | undefined;
}
