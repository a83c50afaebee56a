// Audit events: a stable name and, where the Windows gateway has one, its event-log ID, so people who know
// those IDs (OMS Gateway Log: 101 started, 103 CONNECT received, 105 not allowed, 403 network error, ...)
// can search for them. IDs of our own events are 1000 and up, outside the Windows range.

export const EVENTS = {
  'service-started': 101,
  'service-stopped': 102,
  'request-allowed': 103,
  'not-a-proxy-request': 104,
  'request-denied': 105,
  'error': 400,
  'config-invalid': 401,
  'upstream-error': 403,
  'bad-request': 1001,
  'auth-failed': 1002,
  'tunnel-closed': 1003,
  'request-completed': 1004,
  'shutdown-started': 1005,
  'listener-skipped': 1006,
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
  status: 'status',
  upstream: 'upstream',
  bytesFromClient: 'bytesFromClient',
  bytesToClient: 'bytesToClient',
  durationMs: 'durationMs',
  closedBy: 'closedBy',
} as const;
