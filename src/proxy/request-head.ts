// Bounds on the request head, and its HTTP version (HTTP/1.x only, 505). Node's parser enforces the total
// size itself (maxHeaderSize: request line and header fields together, 431 through clientError), the gateway
// the time to send it (client-connections.ts, 408); the length of the request target (414), the number of header fields (431) and a repeated Host (400, RFC 9112
// §3.2: Node keeps the first and drops the rest, so two readers could pick different ones) are checked here,
// first thing in both handlers, so no check depends on which handler a request reaches.
import type { IncomingMessage, ServerOptions } from 'node:http';
import type { GatewayConfig, LimitsConfig } from '../config/types.js';

export type HeadRefusalCode = 'http-version-not-supported' | 'uri-too-long' | 'too-many-headers' | 'duplicate-host';

/** Options of the shared HTTP server that bound the head: its size (request line and fields together). */
export function headServerOptions(config: GatewayConfig): Pick<ServerOptions, 'maxHeaderSize'> {
  return { maxHeaderSize: config.limits.maxHeaderBytes };
}

/** The time a request head may take (client-connections.ts enforces it). */
export function headTimeoutMs(config: GatewayConfig): number {
  return config.timeouts.requestHeadSeconds * 1000;
}

/** Why a parsed head is refused, if it is. */
export function headRefusal(req: IncomingMessage, limits: LimitsConfig): HeadRefusalCode | undefined {
  // Node's parser takes any one-digit major and minor it knows a meaning for, HTTP/2.0 and HTTP/0.9 among
  // them; a request line is HTTP/1.x (RFC 9112 §2.3), anything else gets 505 (RFC 9110 §15.6.6).
  if (req.httpVersionMajor !== 1) return 'http-version-not-supported';
  // Node hands the target over as latin1, one character per byte.
  if ((req.url ?? '').length > limits.maxRequestTargetBytes) return 'uri-too-long';
  if (req.rawHeaders.length / 2 > limits.maxHeaderCount) return 'too-many-headers';
  if (req.rawHeaders.filter((field, i) => i % 2 === 0 && field.toLowerCase() === 'host').length > 1) return 'duplicate-host';
  return undefined;
}
