// One table of every way the gateway refuses or fails a request: a code, the HTTP status that carries it
// and the one-line reason sent to the client. Reasons never echo request data. The codes themselves are
// declared with the other outcome names in observability/outcomes.ts; the table must cover exactly them.

import type { ProxyErrorCode } from '../observability/outcomes.js';

export type { ProxyErrorCode };

export const PROXY_ERRORS = {
  'bad-request': { status: 400, reason: 'Bad Request' },
  'bad-target': { status: 400, reason: 'Bad Request: invalid target' },
  'not-a-proxy-request': { status: 400, reason: 'Bad Request: not a proxy request (use CONNECT host:port or an absolute http:// URI)' },
  'host-mismatch': { status: 400, reason: 'Bad Request: Host header does not match the request target' },
  'body-on-connect': { status: 400, reason: 'Bad Request: CONNECT must not carry a body' },
  'https-not-via-connect': { status: 400, reason: 'Bad Request: https:// targets must use CONNECT' },
  'unsafe-framing': { status: 400, reason: 'Bad Request: a chunked body on DELETE/OPTIONS, or Transfer-Encoding on HTTP/1.0, is not forwarded' },
  'connection-names-framing': { status: 400, reason: 'Bad Request: Connection must not name Content-Length, Transfer-Encoding or Host' },
  'bad-max-forwards': { status: 400, reason: 'Bad Request: Max-Forwards must be a single decimal number' },
  'trace-not-allowed': { status: 405, reason: 'Method Not Allowed: TRACE is not forwarded' },
  'max-forwards-reached': { status: 405, reason: 'Method Not Allowed: Max-Forwards is 0 and the gateway answers no OPTIONS request itself' },
  'http-version-not-supported': { status: 505, reason: 'HTTP Version Not Supported: only HTTP/1.0 and HTTP/1.1 requests are served' },
  'upgrade-not-supported': { status: 501, reason: 'Not Implemented: protocol upgrade is not supported' },
  'expectation-failed': { status: 417, reason: 'Expectation Failed: only Expect: 100-continue is understood' },
  'denied': { status: 403, reason: 'Forbidden: target not allowed by gateway policy' },
  'plain-http-to-tls-port': { status: 403, reason: 'Forbidden: port 443 takes TLS through CONNECT; plain http:// to it is not forwarded' },
  'auth-required': { status: 407, reason: 'Proxy Authentication Required' },
  // TLS listeners (proxy/tls-accept.ts, tls/security.ts).
  'tls-required': { status: 400, reason: 'Bad Request: this port accepts TLS only; use an https:// proxy URL' },
  'plain-credentials': { status: 403, reason: 'Forbidden: proxy credentials are refused on a plain connection; use an https:// proxy URL' },
  'dns-failure': { status: 502, reason: 'Bad Gateway: target name could not be resolved' },
  'connect-refused': { status: 502, reason: 'Bad Gateway: target refused the connection' },
  'network-error': { status: 502, reason: 'Bad Gateway: network error reaching the target' },
  'upstream-error': { status: 502, reason: 'Bad Gateway: the target failed to answer' },
  'connect-timeout': { status: 504, reason: 'Gateway Timeout: connecting to the target timed out' },
  'relay-refused': { status: 502, reason: 'Bad Gateway: the relay proxy refused the tunnel' },
  'relay-unreachable': { status: 502, reason: 'Bad Gateway: the relay proxy could not be reached' },
  'relay-timeout': { status: 504, reason: 'Gateway Timeout: the relay proxy did not answer in time' },
  'shutting-down': { status: 503, reason: 'Service Unavailable: gateway is shutting down' },
  // Limits (proxy/limits.ts, proxy/request-head.ts, proxy/client-connections.ts, auth/throttle.ts): the
  // client may come back later.
  'duplicate-host': { status: 400, reason: 'Bad Request: more than one Host header' },
  'request-timeout': { status: 408, reason: 'Request Timeout: the request head did not arrive in time' },
  'uri-too-long': { status: 414, reason: 'URI Too Long: the request target exceeds the limit' },
  'too-many-headers': { status: 431, reason: 'Request Header Fields Too Large: too many header fields' },
  'header-too-large': { status: 431, reason: 'Request Header Fields Too Large: the request head exceeds the size limit' },
  'too-many-connections': { status: 503, reason: 'Service Unavailable: too many open connections', retryAfterSeconds: 5 },
  'client-connection-limit': { status: 429, reason: 'Too Many Requests: too many open connections from this address', retryAfterSeconds: 5 },
  'user-tunnel-limit': { status: 429, reason: 'Too Many Requests: too many open tunnels for this user', retryAfterSeconds: 5 },
  'auth-locked': { status: 429, reason: 'Too Many Requests: too many failed authentication attempts', retryAfterSeconds: 60 },
  'auth-concurrent': { status: 429, reason: 'Too Many Requests: too many authentication attempts under way', retryAfterSeconds: 5 },
  'auth-busy': { status: 503, reason: 'Service Unavailable: credentials could not be checked in time', retryAfterSeconds: 5 },
  'out-of-resources': { status: 503, reason: 'Service Unavailable: the gateway is out of file descriptors', retryAfterSeconds: 5 },
} as const satisfies Record<ProxyErrorCode, { status: number; reason: string; retryAfterSeconds?: number }>;

/** Seconds a client should wait before trying again (the Retry-After field), for refusals that pass. */
export function retryAfterSeconds(code: ProxyErrorCode): number | undefined {
  const entry = PROXY_ERRORS[code];
  return 'retryAfterSeconds' in entry ? entry.retryAfterSeconds : undefined;
}

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;

  /** `detail` follows the reason in the message (which relay answered what): for logs, never for clients. */
  constructor(code: ProxyErrorCode, options?: { cause?: unknown; detail?: string }) {
    super(options?.detail === undefined ? PROXY_ERRORS[code].reason : `${PROXY_ERRORS[code].reason}: ${options.detail}`, options);
    this.name = 'ProxyError';
    this.code = code;
    this.status = PROXY_ERRORS[code].status;
  }
}
