// Values the policy works on. The policy modules are pure: no sockets, no logging, no configuration parsing.

/** A CONNECT authority or absolute-URI host, parsed and normalised once (see target.ts). */
export interface Target {
  /** ASCII lower-case, one trailing dot removed; IPv6 literals without brackets, in canonical form. */
  readonly host: string;
  readonly port: number;
  readonly kind: 'name' | 'ipv4' | 'ipv6';
}

/** Why a target string could not be parsed: answered with 400 Bad Request. */
export type TargetErrorCode =
  | 'empty'
  | 'bad-characters'
  | 'userinfo'
  | 'percent-encoding'
  | 'non-ascii'
  | 'bad-brackets'
  | 'bad-port'
  | 'missing-port'
  | 'bad-name'
  /** An absolute URI that is not `http://authority/path` (other scheme, fragment, no authority). */
  | 'bad-uri';

export interface TargetError {
  readonly ok: false;
  readonly code: TargetErrorCode;
  /** One line, safe to show to the client and the log: never echoes the raw input. */
  readonly message: string;
}

export type TargetResult = { readonly ok: true; readonly target: Target } | TargetError;

/** Closed set of reasons a well-formed target is refused (403). Used as a metric label: keep it bounded. */
export type DenyReason =
  | 'not-in-allowlist'
  | 'port-not-allowed'
  | 'ip-literal'
  | 'workspace-not-allowed'
  | 'region-not-allowed'
  | 'address-not-allowed';

/** What the policy decided about a target. `entry` is the matching allowlist pattern (for metrics and logs). */
export type Decision = AllowDecision | DenyDecision;
export interface AllowDecision {
  readonly allow: true;
  readonly entry: string;
}
export interface DenyDecision {
  readonly allow: false;
  readonly reason: DenyReason;
  readonly entry: string | undefined;
  /**
   * True in report mode (`policy.mode: report`) for a reason that mode relaxes: the request is relayed and
   * recorded as would-deny. Never true for the safety checks (IP literals, address rules).
   */
  readonly reportOnly: boolean;
}

/** What the policy is asked about one request. */
export interface PolicyRequest {
  readonly target: Target;
  /** Client address as seen on the socket. */
  readonly client: string;
  /** Authenticated user name; undefined in anonymous mode. */
  readonly user: string | undefined;
}
