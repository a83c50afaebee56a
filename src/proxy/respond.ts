// The one place that writes refusals and failures to clients, on raw sockets (CONNECT) and on
// http.ServerResponse (absolute-URI requests). Every refusal closes the connection.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROXY_ERRORS, retryAfterSeconds, type ProxyErrorCode } from './errors.js';

/** How long a refused connection may keep sending before it is cut; its bytes are read and discarded. */
const LINGER_MS = 2000;

function headersFor(code: ProxyErrorCode, proxyAuthenticate: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    Connection: 'close',
  };
  if (code === 'auth-required' && proxyAuthenticate !== undefined) headers['Proxy-Authenticate'] = proxyAuthenticate;
  const retryAfter = retryAfterSeconds(code);
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  return headers;
}

/**
 * The table's reason and nothing else: what went wrong behind the gateway (which relay, what it answered)
 * is for the audit log, never for the client.
 */
function bodyOf(code: ProxyErrorCode): string {
  return `${PROXY_ERRORS[code].reason}\n`;
}

/** The whole answer, status line to body, as refuseSocket and refuseUnparsed write it. */
function answerOf(code: ProxyErrorCode, proxyAuthenticate: string | undefined): string {
  const { status } = PROXY_ERRORS[code];
  const body = bodyOf(code);
  const headers = headersFor(code, proxyAuthenticate);
  headers['Content-Length'] = String(Buffer.byteLength(body));
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

/**
 * Answers on a raw socket (CONNECT path) and closes it. Bytes the client pipelined after the refused
 * head (optimistic TLS, a second request) are drained unparsed, so they can never be acted upon.
 * `proxyAuthenticate` is the full Proxy-Authenticate value for 407 answers.
 */
export function refuseSocket(socket: Duplex, code: ProxyErrorCode, proxyAuthenticate?: string): void {
  if (socket.destroyed) return;
  // Node's HTTP server stops watching a socket it hands over (CONNECT, Upgrade) or that failed to parse:
  // a reset while the answer lingers must not become an uncaught 'error' that ends the process.
  socket.on('error', () => socket.destroy());
  socket.end(answerOf(code, proxyAuthenticate));
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Answers on a connection still attached to Node's HTTP parser whose head it refused or did not receive in
 * time, and destroys it once the answer is written. Unlike refuseSocket nothing more is read: the parser
 * has failed, and what follows would only fail it again (the caller has paused the socket).
 */
export function refuseUnparsed(socket: Duplex, code: ProxyErrorCode): void {
  // The last answer may have closed the connection already.
  if (!socket.writable) return;
  socket.end(answerOf(code, undefined), () => socket.destroy());
}

/** Answers an absolute-URI request with the error; Node closes the connection because of `Connection: close`. */
export function refuseResponse(res: ServerResponse, code: ProxyErrorCode, proxyAuthenticate?: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { status } = PROXY_ERRORS[code];
  const body = bodyOf(code);
  res.shouldKeepAlive = false;
  res.writeHead(status, Object.assign({}, headersFor(code, proxyAuthenticate), { 'Content-Length': Buffer.byteLength(body) }));
  res.end(body);
}
