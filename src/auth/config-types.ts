// The authentication part of the validated configuration. config/ builds it (config/types.ts composes it);
// auth/ owns the shape, so nothing here needs the configuration module.

export type AuthMode = 'anonymous' | 'basic';

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

export interface UserConfig {
  readonly name: string;
  /** `scrypt$N$r$p$saltB64$hashB64`, see auth/password.ts. */
  readonly passwordHash: string;
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
