// What the absolute-URI path refuses from the request head alone, before credentials are checked, and the
// two header rules the forwarded request follows (fields Connection names, Max-Forwards).
import type { IncomingMessage } from 'node:http';
import type { Target } from '../policy/types.js';
import type { ProxyErrorCode } from './errors.js';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the proxy's own credentials and the legacy Proxy-Connection. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade'];

/**
 * Fields a `Connection` header may never remove: without them the body would travel unframed or the
 * request would reach the origin without its Host (the node-http-proxy#1721 pattern by another door).
 */
const NEVER_HOP_BY_HOP: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);

/** The largest Max-Forwards sent upstream (RFC 9110 §7.6.2 lets a recipient cap it). */
const MAX_FORWARDS_CAP = 255;

/** The lower-case field names a `Connection` value lists (RFC 9110 §7.6.1). */
function connectionNames(value: string | undefined): string[] {
  return (value ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
}

/**
 * The lower-case names of the fields not passed on, for a message whose Connection field is `connection`:
 * the hop-by-hop ones and those it names, never framing or Host (a request naming them is refused before).
 */
export function hopByHopFields(connection: string | undefined): ReadonlySet<string> {
  return new Set([...HOP_BY_HOP, ...connectionNames(connection).filter((name) => !NEVER_HOP_BY_HOP.has(name))]);
}

/**
 * Why a plain-HTTP request is refused before admission, if it is. In this order:
 * 1. origin-form or `*` target: not a proxy request;
 * 2. an https:// absolute URI: TLS goes through CONNECT;
 * 3. TRACE (RFC 9110 §9.3.8): it would echo the request, credentials of other hops included, and
 *    nothing an agent sends needs it — refused, whatever its Max-Forwards;
 * 4. `Connection` naming Content-Length, Transfer-Encoding or Host;
 * 5. a chunked body on DELETE or OPTIONS: a body these methods give no meaning to (RFC 9110 §9.3.5, §9.3.7)
 *    and the http-proxy door of node-http-proxy#1721, closed for any forwarder; and Transfer-Encoding on
 *    HTTP/1.0, whose framing RFC 9112 §6.1 says to treat as faulty;
 * 6. OPTIONS with a Max-Forwards that is not one number, or that is 0: the gateway would be the final
 *    recipient (RFC 9110 §7.6.2) and serves no resource of its own. Other methods ignore Max-Forwards,
 *    as the RFC allows.
 */
export function forwardRefusal(req: IncomingMessage): ProxyErrorCode | undefined {
  const url = req.url ?? '';
  if (url.startsWith('/') || url === '*') return 'not-a-proxy-request';
  if (/^https:\/\//i.test(url)) return 'https-not-via-connect';
  const method = req.method ?? '';
  if (method === 'TRACE') return 'trace-not-allowed';
  if (connectionNames(req.headers.connection).some((name) => NEVER_HOP_BY_HOP.has(name))) return 'connection-names-framing';
  if (req.headers['transfer-encoding'] !== undefined && (method === 'DELETE' || method === 'OPTIONS' || req.httpVersion === '1.0')) return 'unsafe-framing';
  if (method === 'OPTIONS') {
    const remaining = maxForwards(req);
    if (remaining === 'malformed') return 'bad-max-forwards';
    if (remaining === 0) return 'max-forwards-reached';
  }
  return undefined;
}

/**
 * Plain http:// to port 443 is refused whichever entry allows the port: every preset's 443 means TLS through
 * CONNECT, and an operator who lists 443 expects the same. Plain HTTP goes only to other ports an entry lists.
 */
export function plainHttpToTlsPort(target: Target): boolean {
  return target.port === 443;
}

/** The Max-Forwards value to send upstream for a forwarded OPTIONS (RFC 9110 §7.6.2: one less, capped). */
export function forwardedMaxForwards(req: IncomingMessage): string | undefined {
  const remaining = maxForwards(req);
  return typeof remaining === 'number' ? String(Math.min(remaining - 1, MAX_FORWARDS_CAP)) : undefined;
}

/** The Max-Forwards value (RFC 9110 §7.6.2: 1*DIGIT); a repeated field is malformed too. */
function maxForwards(req: IncomingMessage): number | 'malformed' | undefined {
  const values = req.headersDistinct['max-forwards'];
  if (values === undefined) return undefined;
  const [value] = values;
  return values.length === 1 && value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : 'malformed';
}
