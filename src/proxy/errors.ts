// One table of every way the gateway refuses or fails a request: a code, the HTTP status that carries it
// and the one-line reason sent to the client. Reasons never echo request data.

export const PROXY_ERRORS = {
  'bad-request': { status: 400, reason: 'Bad Request' },
  'bad-target': { status: 400, reason: 'Bad Request: invalid target' },
  'not-a-proxy-request': { status: 400, reason: 'Bad Request: not a proxy request (use CONNECT host:port or an absolute http:// URI)' },
  'host-mismatch': { status: 400, reason: 'Bad Request: Host header does not match the request target' },
  'body-on-connect': { status: 400, reason: 'Bad Request: CONNECT must not carry a body' },
  'https-not-via-connect': { status: 400, reason: 'Bad Request: https:// targets must use CONNECT' },
  'unsafe-framing': { status: 400, reason: 'Bad Request: chunked body on DELETE/OPTIONS is not forwarded' },
  'upgrade-not-supported': { status: 501, reason: 'Not Implemented: protocol upgrade is not supported' },
  'denied': { status: 403, reason: 'Forbidden: target not allowed by gateway policy' },
  'auth-required': { status: 407, reason: 'Proxy Authentication Required' },
  'dns-failure': { status: 502, reason: 'Bad Gateway: target name could not be resolved' },
  'connect-refused': { status: 502, reason: 'Bad Gateway: target refused the connection' },
  'network-error': { status: 502, reason: 'Bad Gateway: network error reaching the target' },
  'upstream-error': { status: 502, reason: 'Bad Gateway: the target failed to answer' },
  'connect-timeout': { status: 504, reason: 'Gateway Timeout: connecting to the target timed out' },
  'shutting-down': { status: 503, reason: 'Service Unavailable: gateway is shutting down' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;

  constructor(code: ProxyErrorCode, options?: { cause?: unknown }) {
    super(PROXY_ERRORS[code].reason, options);
    this.name = 'ProxyError';
    this.code = code;
    this.status = PROXY_ERRORS[code].status;
  }
}
