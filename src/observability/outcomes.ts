// The closed sets of outcomes the gateway's metrics and audit records are labelled with. The data path
// (proxy/, tls/) reports what happened in these words; declared here, with no import, so observability
// names what it counts without depending on the code it observes.

/** Why the gateway refused or failed a request; proxy/errors.ts gives each code its HTTP status and reason. */
export type ProxyErrorCode =
  | 'bad-request'
  | 'bad-target'
  | 'not-a-proxy-request'
  | 'host-mismatch'
  | 'body-on-connect'
  | 'https-not-via-connect'
  | 'unsafe-framing'
  | 'connection-names-framing'
  | 'bad-max-forwards'
  | 'trace-not-allowed'
  | 'max-forwards-reached'
  | 'http-version-not-supported'
  | 'upgrade-not-supported'
  | 'denied'
  | 'plain-http-to-tls-port'
  | 'auth-required'
  | 'tls-required'
  | 'plain-credentials'
  | 'dns-failure'
  | 'connect-refused'
  | 'network-error'
  | 'upstream-error'
  | 'connect-timeout'
  | 'relay-refused'
  | 'relay-unreachable'
  | 'relay-timeout'
  | 'shutting-down'
  | 'duplicate-host'
  | 'uri-too-long'
  | 'too-many-headers'
  | 'too-many-connections'
  | 'client-connection-limit'
  | 'user-tunnel-limit'
  | 'auth-locked'
  | 'auth-concurrent'
  | 'auth-busy'
  | 'out-of-resources'
  | 'request-timeout'
  | 'header-too-large'
  | 'expectation-failed';

/**
 * Which side ended a relayed tunnel, or why the gateway did. 'idle-timeout', 'half-closed-timeout' and
 * 'max-lifetime': the gateway ended it under timeouts.tunnelIdleSeconds, tunnelHalfClosedSeconds and
 * tunnelMaxSeconds.
 */
export type ClosedBy = 'client' | 'upstream' | 'error' | 'gateway' | 'idle-timeout' | 'half-closed-timeout' | 'max-lifetime';

/** What the relay (proxy/relay.ts) reports when a tunnel ends. */
export interface RelayStats {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly durationMs: number;
  readonly closedBy: ClosedBy;
}

/** Why the tunnel inspection (tls/inspect.ts) closed a tunnel: used as the audit reason. */
export type InspectionFailure =
  /** Parse errors (Windows event 402). */
  | 'not-tls'
  | 'not-client-hello'
  | 'malformed-handshake'
  | 'bad-certificate'
  | 'handshake-too-large'
  | 'too-many-records'
  | 'handshake-timeout'
  /** Version refusals (Windows event 106). */
  | 'version-too-low'
  | 'client-certificate-hidden'
  /** Policy refusals (Windows event 105). */
  | 'sni-mismatch'
  | 'sni-missing'
  | 'client-certificate-refused'
  /** A side closed before the look was done: not a refusal. */
  | 'closed-early'
  /** The caller's gate held the tunnel back after its ClientHello (a reload revoked it): not a TLS refusal. */
  | 'held-back';
