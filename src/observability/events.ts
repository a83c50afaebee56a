// Audit events: a stable name and, where the Windows gateway has one, its event-log ID, so people who know
// those IDs (OMS Gateway Log: 101 started, 103 CONNECT received, 105 not allowed, 403 network error, ...)
// can search for them. IDs of our own events are 1000 and up, outside the Windows range.

export const EVENTS = {
  /** Windows 100 "information" and 200 "debug trace": service messages that are not decisions. */
  'signal-received': 100,
  'client-reset': 200,
  'service-started': 101,
  'service-stopped': 102,
  'request-allowed': 103,
  'not-a-proxy-request': 104,
  'request-denied': 105,
  /** Tunnel inspection (tls/inspect.ts): an offered version below inspection.minVersion, or TLS 1.3 refused. */
  'tls-version-refused': 106,
  /** Tunnel inspection passed: ClientHello, SNI and (when listed) the client certificate. */
  'tls-verified': 107,
  'error': 400,
  'config-invalid': 401,
  /** Tunnel inspection: the client's bytes are not a readable TLS handshake. */
  'tls-parse-error': 402,
  'upstream-error': 403,
  'bad-request': 1001,
  'auth-failed': 1002,
  'tunnel-closed': 1003,
  'request-completed': 1004,
  'shutdown-started': 1005,
  'listener-skipped': 1006,
  // 1100-1199: agent presets, report mode and PROXY protocol.
  'would-deny': 1100,
  'policy-not-enforced': 1101,
  'proxy-header-refused': 1102,
  /** At start: the preset entries differ from those the gateway last ran with (new preset data, other agents). */
  'presets-changed': 1103,
  // 1200-1299: operations (reload, relay proxy).
  'config-reloaded': 1200,
  'tunnel-revoked': 1201,
  'reload-failed': 1202,
  // 1300-1399: observability (metrics listener, log file).
  'metrics-listening': 1300,
  'log-reopened': 1301,
  // 1400-1499: limits and hardening.
  'limit-refused': 1400,
  'auth-lockout': 1401,
  'accept-failed': 1402,
  'connection-limit-lowered': 1403,
  /** The configuration file or auth.usersFile holds secrets and its group or other users can read it. */
  'secrets-exposed': 1404,
  // 1500-1599: worker processes (workers: auto|N).
  'worker-started': 1500,
  'worker-exited': 1501,
  // 1600-1699: TLS listeners (proxy/tls-accept.ts, tls/endpoint.ts).
  'tls-handshake-failed': 1600,
  'certificate-reloaded': 1601,
  'certificate-reload-failed': 1602,
} as const;

export type EventName = keyof typeof EVENTS;

/** Field names of audit records, written once so tests and dashboards agree on them. */
export const F = {
  event: 'event',
  eventId: 'eventId',
  client: 'client',
  user: 'user',
  method: 'method',
  target: 'target',
  decision: 'decision',
  reason: 'reason',
  entry: 'entry',
  hint: 'hint',
  enforcing: 'enforcing',
  status: 'status',
  upstream: 'upstream',
  bytesFromClient: 'bytesFromClient',
  bytesToClient: 'bytesToClient',
  durationMs: 'durationMs',
  closedBy: 'closedBy',
} as const;
