// Request smuggling on the plain-HTTP path and bodies on CONNECT (Tinyproxy's 2026 CVEs, Squid
// CVE-2023-46846, llhttp#877). Every message below carries a second request the gateway would refuse if it
// parsed it as one — origin-form `GET /smuggled`, which is not a proxy request — so the only way that
// request reaches the origin is hidden inside another message's body. The origin records every request its
// own parser produces: /smuggled must never be among them. Ambiguous framing is refused with 400 and the
// connection closed; framing that is valid (chunked in another case, optional whitespace) is forwarded
// re-framed, and the trailing request is then answered by the gateway itself. test/e2e/forward.test.ts
// covers CL+TE together and chunked DELETE/OPTIONS.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startHttpOrigin, startTcpSink, type HttpOrigin, type TcpSink } from '../fixtures/origin.js';
import { rawExchange, statusCodes } from '../fixtures/raw-client.js';
import { expectRefusal, expectStillServes } from '../fixtures/refusal.js';

const HOST = 'plain.example';
const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

function post(headers: string, body: string): string {
  return `POST http://${HOST}/sha256 HTTP/1.1\r\nHost: ${HOST}\r\n${headers}\r\n${body}${SMUGGLED}`;
}

const chunked = 'Transfer-Encoding: chunked\r\n';

/** `method` with `headers`, `body`, then the smuggled request (which a Content-Length may count as body). */
function message(method: string, headers: string, body = ''): string {
  return `${method} http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\n${headers}\r\n${body}${SMUGGLED}`;
}

/** Headers whose Content-Length makes the smuggled request the body, and a Connection field naming `names`. */
const bodyIsSmuggled = (names: string): string => `Connection: ${names}\r\nContent-Length: ${SMUGGLED.length}\r\n`;

/** `statuses`: every answer on the connection, in order; `forwarded`: how many requests the origin sees. */
const cases: readonly { name: string; raw: string; statuses: number[]; forwarded: number }[] = [
  // Content-Length.
  { name: 'two Content-Length fields with the same value', raw: post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'two Content-Length fields with different values', raw: post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'Content-Length: +5', raw: post('Content-Length: +5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'Content-Length: -5', raw: post('Content-Length: -5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'Content-Length: 5,5', raw: post('Content-Length: 5,5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'Content-Length: 5 5', raw: post('Content-Length: 5 5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'Content-Length: 0x5', raw: post('Content-Length: 0x5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'whitespace before the colon of Content-Length', raw: post('Content-Length : 5\r\n', 'hello'), statuses: [400], forwarded: 0 },
  { name: 'Content-Length with optional whitespace (valid)', raw: post('Content-Length:  5 \r\n', 'hello'), statuses: [200, 400], forwarded: 1 },
  // Transfer-Encoding.
  { name: 'Transfer-Encoding: Chunked (valid, case-insensitive)', raw: post('Transfer-Encoding: Chunked\r\n', '0\r\n\r\n'), statuses: [200, 400], forwarded: 1 },
  { name: 'Transfer-Encoding: chunked,', raw: post('Transfer-Encoding: chunked,\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'Transfer-Encoding: xchunked', raw: post('Transfer-Encoding: xchunked\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'Transfer-Encoding: chunked, identity (chunked not last)', raw: post('Transfer-Encoding: chunked, identity\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'Transfer-Encoding: "chunked"', raw: post('Transfer-Encoding: "chunked"\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'two Transfer-Encoding fields', raw: post(`${chunked}${chunked}`, '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'Transfer-Encoding folded onto a second line (obs-fold)', raw: post('Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'whitespace before the colon of Transfer-Encoding', raw: post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'a vertical tab after chunked', raw: post('Transfer-Encoding: chunked\u000b\r\n', '0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'Transfer-Encoding on HTTP/1.0', raw: `POST http://${HOST}/sha256 HTTP/1.0\r\nHost: ${HOST}\r\n${chunked}\r\n0\r\n\r\n${SMUGGLED}`, statuses: [400], forwarded: 0 },
  // Chunked bodies.
  { name: 'a chunk extension ended by a bare LF', raw: post(chunked, '5;ext\nhello\r\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'a chunk extension with an open quote', raw: post(chunked, '5;a="b\r\nhello\r\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'a chunk size ended by a bare LF', raw: post(chunked, '5\nhello\r\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'chunk data ended by a bare LF', raw: post(chunked, '5\r\nhello\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'a 0x-prefixed chunk size', raw: post(chunked, '0x5\r\nhello\r\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'a chunk size that overflows 64 bits', raw: post(chunked, 'FFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  { name: 'whitespace after a chunk size', raw: post(chunked, '5 \r\nhello\r\n0\r\n\r\n'), statuses: [400], forwarded: 0 },
  // Header bytes and line endings.
  { name: 'an obs-folded header', raw: post('X-Folded: a\r\n b\r\nContent-Length: 0\r\n', ''), statuses: [400], forwarded: 0 },
  { name: 'a NUL in a header value', raw: post('X-A: a\u0000b\r\nContent-Length: 0\r\n', ''), statuses: [400], forwarded: 0 },
  { name: 'a bare CR in a header value', raw: post('X-A: a\rb\r\nContent-Length: 0\r\n', ''), statuses: [400], forwarded: 0 },
  { name: 'DEL in a header name', raw: post('X-\u007fA: b\r\nContent-Length: 0\r\n', ''), statuses: [400], forwarded: 0 },
  { name: 'a space in a header name', raw: post('X A: b\r\nContent-Length: 0\r\n', ''), statuses: [400], forwarded: 0 },
  { name: 'a header line without a colon', raw: post('XA\r\nContent-Length: 0\r\n', ''), statuses: [400], forwarded: 0 },
  { name: 'bare LF line endings', raw: `GET http://${HOST}/hello HTTP/1.1\nHost: ${HOST}\n\n${SMUGGLED}`, statuses: [400], forwarded: 0 },
  { name: 'a lower-case method', raw: `get http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\n\r\n${SMUGGLED}`, statuses: [400], forwarded: 0 },
  { name: 'HTTP/1.2', raw: `GET http://${HOST}/hello HTTP/1.2\r\nHost: ${HOST}\r\n\r\n${SMUGGLED}`, statuses: [400], forwarded: 0 },
  // Connection naming framing or Host (issue 16, finding 7): a forwarder that removed what Connection names
  // would send the body unframed, or as `Content-Length: 0` plus a body (node-http-proxy#1721's DELETE/OPTIONS).
  ...['GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST', 'PUT'].map((method) => ({
    name: `${method} with Connection: content-length and a body`,
    raw: message(method, bodyIsSmuggled('content-length')),
    statuses: [400],
    forwarded: 0,
  })),
  ...['DELETE', 'OPTIONS'].map((method) => ({
    name: `${method} with Connection: content-length and Content-Length: 0, a request after it`,
    raw: message(method, 'Connection: content-length\r\nContent-Length: 0\r\n'),
    statuses: [400],
    forwarded: 0,
  })),
  { name: 'Connection: keep-alive, Content-Length (a list, any case)', raw: message('GET', bodyIsSmuggled('keep-alive, Content-Length')), statuses: [400], forwarded: 0 },
  { name: 'Content-Length named by a second Connection field', raw: message('GET', `Connection: keep-alive\r\n${bodyIsSmuggled('content-length')}`), statuses: [400], forwarded: 0 },
  { name: 'Connection: transfer-encoding on a chunked POST', raw: message('POST', `Connection: transfer-encoding\r\n${chunked}`, `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`), statuses: [400], forwarded: 0 },
  { name: 'Connection: host', raw: message('GET', 'Connection: host\r\n'), statuses: [400], forwarded: 0 },
  // Whose Host?
  { name: 'two Host fields', raw: `GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nHost: evil.example\r\n\r\n${SMUGGLED}`, statuses: [400], forwarded: 0 },
  // A body on the forwarded path is delivered as a body.
  { name: 'a GET whose Content-Length body is a request', raw: `GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${SMUGGLED.length}\r\nConnection: close\r\n\r\n${SMUGGLED}`, statuses: [200], forwarded: 1 },
];

describe('request smuggling on the plain-HTTP path', () => {
  let origin: HttpOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startHttpOrigin();
    gateway = await startGateway({ configYaml: 'workers: 1\n', args: ['--allow-host', `${HOST}:80`, '--resolve', `${HOST}=127.0.0.1:${origin.port}`] });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
  });

  for (const { name, raw, statuses, forwarded } of cases) {
    test(`${statuses.join(', ')}: ${name}; the smuggled request never reaches the origin`, async () => {
      const before = origin.requests.length;
      const result = await rawExchange(gateway.port, raw, { idleMs: 700 });
      assert.deepEqual(statusCodes(result.data), statuses, JSON.stringify(result.text.slice(0, 200)));
      if (statuses.at(-1) === 400) assert.notEqual(result.ending, 'idle', 'the connection stayed open after the 400');
      await sleep(100);
      const seen = origin.requests.slice(before);
      assert.equal(seen.length, forwarded, `the origin saw ${JSON.stringify(seen.map((r) => r.url))}`);
      assert.ok(!origin.requests.some((r) => r.url === '/smuggled'), 'the smuggled request was executed');
      const good = await rawExchange(gateway.port, `GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
      assert.deepEqual(statusCodes(good.data), [200], 'the gateway still serves');
    });
  }

  test('a body delivered as a body arrives whole', async () => {
    const before = origin.requests.length;
    await rawExchange(gateway.port, `GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: ${SMUGGLED.length}\r\nConnection: close\r\n\r\n${SMUGGLED}`);
    await sleep(100);
    assert.equal(origin.requests[before]?.body.toString(), SMUGGLED);
  });
});

describe('a body on CONNECT', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await startGateway({ configYaml: 'workers: 1\ninspection:\n  enabled: false\n', args: ['--allow-host', 'tunnel.example', '--resolve', `tunnel.example=127.0.0.1:${sink.port}`] });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  const framings = [
    { name: 'Content-Length', headers: 'Content-Length: 5\r\n', body: 'hello' },
    { name: 'Transfer-Encoding: chunked', headers: chunked, body: '5\r\nhello\r\n0\r\n\r\n' },
  ];
  for (const { name, headers, body } of framings) {
    test(`is refused with 400 (${name}); nothing is dialled and nothing after it is parsed`, async () => {
      const raw = `CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n${headers}\r\n${body}CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\n\r\n`;
      await expectRefusal(gateway, raw, { statuses: [400], untouched: [sink] });
      assert.equal(sink.received.length, 0);
      await expectStillServes(gateway, 'tunnel.example:443', sink);
    });
  }
});
