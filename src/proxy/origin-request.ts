// gateway → target: one admitted plain-HTTP request over the socket the gateway dialled, and its answer
// streamed back. Node's own client and server, no proxy library: http-proxy 1.18 collapses `//` in paths
// (its urlJoin), rewrites DELETE/OPTIONS framing (node-http-proxy#1721) and answers 100 Continue itself.
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { forwardedMaxForwards, hopByHopFields } from './forward-rules.js';

/** Node's own test for a 100-continue expectation (lib/_http_server.js). */
const EXPECT_CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

export interface Outgoing {
  /** The Host field: the target's authority. */
  readonly host: string;
  /** Path and query of the absolute URI, sent byte for byte. */
  readonly path: string;
}

/**
 * Sends `req` over `socket` and streams the answer into `res`. The body goes as the client framed it
 * (Content-Length or chunked, both passed on; Node's strict parser has already refused anything
 * ambiguous). `onFailed` runs when the target fails while the client still waits: before the answer
 * began it refuses, after that it can only cut the connection. Nothing runs once `res` has closed.
 */
export function sendToOrigin(req: IncomingMessage, res: ServerResponse, socket: Socket, outgoing: Outgoing, onFailed: () => void): void {
  let done = false;
  res.once('close', () => {
    done = true;
  });
  const fail = (): void => {
    if (done) return;
    done = true;
    onFailed();
  };
  const upstream = request({ createConnection: () => socket, method: req.method, path: outgoing.path, headers: requestFields(req, outgoing.host), setHost: false });
  upstream.on('error', fail);
  // RFC 9110 §10.1.1: a proxy passes the expectation on and relays the target's 100, never its own.
  if (req.httpVersion === '1.1' && EXPECT_CONTINUE.test(req.headers.expect ?? '')) upstream.once('continue', () => res.writeContinue());
  upstream.once('response', (answer: IncomingMessage) => {
    try {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseFields(req, answer));
    } catch {
      // A status line or field Node refuses to write (it checks what it sends more strictly than it parses).
      answer.destroy();
      fail();
      return;
    }
    // A target that stops mid-body must not look like a complete answer: cut the client's connection.
    answer.once('close', () => {
      if (!answer.complete) res.destroy();
    });
    answer.pipe(res);
  });
  req.pipe(upstream);
}

/** Host first, then the client's fields in their order, hop-by-hop ones removed; OPTIONS's Max-Forwards one less. */
function requestFields(req: IncomingMessage, host: string): string[] {
  const dropped = hopByHopFields(req.headers.connection);
  const maxForwards = req.method === 'OPTIONS' ? forwardedMaxForwards(req) : undefined;
  const fields = ['Host', host];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'host' || dropped.has(lower)) continue;
    fields.push(name, lower === 'max-forwards' && maxForwards !== undefined ? maxForwards : (req.rawHeaders[i + 1] ?? ''));
  }
  return fields;
}

/**
 * The target's fields without hop-by-hop ones. Node decoded a chunked body and chunks it again for an
 * HTTP/1.1 client because Transfer-Encoding stays; an HTTP/1.0 client cannot read chunked coding, so there
 * the field goes and the body runs to the end of the connection.
 */
function responseFields(req: IncomingMessage, answer: IncomingMessage): string[] {
  const dropped = new Set(hopByHopFields(answer.headers.connection));
  if (req.httpVersion === '1.0') dropped.add('transfer-encoding');
  const fields: string[] = [];
  for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
    const name = answer.rawHeaders[i] ?? '';
    if (!dropped.has(name.toLowerCase())) fields.push(name, answer.rawHeaders[i + 1] ?? '');
  }
  return fields;
}
