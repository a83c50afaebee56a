// What the absolute-URI path refuses from the head alone, as a table; the fields it never passes on; the
// Max-Forwards it sends. The same rules run end to end in test/e2e/forward.test.ts and the smuggling suite.
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { forwardedMaxForwards, forwardRefusal, hopByHopFields } from '../../src/proxy/forward-rules.js';

function head(method: string, url: string, fields: readonly string[] = [], version = '1.1'): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.url = url;
  req.httpVersion = version;
  req.rawHeaders = [...fields];
  // What Node's parser builds from the raw fields: names in lower case, repeats joined with ", " (headers)
  // or kept apart (headersDistinct).
  const headers: Record<string, string> = {};
  const distinct: Record<string, string[]> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = (fields[i] ?? '').toLowerCase();
    const value = fields[i + 1] ?? '';
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    distinct[name] = [...(distinct[name] ?? []), value];
  }
  req.headers = headers;
  req.headersDistinct = distinct;
  return req;
}

const URL = 'http://plain.example/x';
const cases: [name: string, req: IncomingMessage, expected: string | undefined][] = [
  ['a plain GET', head('GET', URL), undefined],
  ['origin-form', head('GET', '/x'), 'not-a-proxy-request'],
  ['asterisk-form', head('OPTIONS', '*'), 'not-a-proxy-request'],
  ['an https:// URI', head('GET', 'HTTPS://plain.example/'), 'https-not-via-connect'],
  ['TRACE', head('TRACE', URL), 'trace-not-allowed'],
  ['TRACE with Max-Forwards: 5', head('TRACE', URL, ['Max-Forwards', '5']), 'trace-not-allowed'],
  ['Connection: content-length', head('GET', URL, ['Connection', 'content-length']), 'connection-names-framing'],
  ['Connection: Keep-Alive, Transfer-Encoding', head('POST', URL, ['Connection', 'Keep-Alive, Transfer-Encoding']), 'connection-names-framing'],
  ['Connection: HOST in a second field', head('GET', URL, ['Connection', 'close', 'Connection', ' HOST ']), 'connection-names-framing'],
  ['Connection naming an ordinary field', head('GET', URL, ['Connection', 'x-hop, close']), undefined],
  ['chunked DELETE', head('DELETE', URL, ['Transfer-Encoding', 'chunked']), 'unsafe-framing'],
  ['chunked OPTIONS', head('OPTIONS', URL, ['Transfer-Encoding', 'chunked']), 'unsafe-framing'],
  ['chunked POST over HTTP/1.0', head('POST', URL, ['Transfer-Encoding', 'chunked'], '1.0'), 'unsafe-framing'],
  ['chunked POST over HTTP/1.1', head('POST', URL, ['Transfer-Encoding', 'chunked']), undefined],
  ['OPTIONS with Max-Forwards: 0', head('OPTIONS', URL, ['Max-Forwards', '0']), 'max-forwards-reached'],
  ['OPTIONS with Max-Forwards: 1', head('OPTIONS', URL, ['Max-Forwards', '1']), undefined],
  ['OPTIONS with Max-Forwards: -1', head('OPTIONS', URL, ['Max-Forwards', '-1']), 'bad-max-forwards'],
  ['OPTIONS with two Max-Forwards fields', head('OPTIONS', URL, ['Max-Forwards', '1', 'Max-Forwards', '2']), 'bad-max-forwards'],
  ['GET with Max-Forwards: 0 (ignored, RFC 9110 §7.6.2)', head('GET', URL, ['Max-Forwards', '0']), undefined],
];

for (const [name, req, expected] of cases) {
  test(`${name}: ${expected ?? 'forwarded'}`, () => {
    assert.equal(forwardRefusal(req), expected);
  });
}

test('hop-by-hop fields: the RFC 9110 ones, the proxy\'s own, and what Connection names, never framing or Host', () => {
  const dropped = hopByHopFields('X-Hop, content-length, Transfer-Encoding, host, close');
  for (const name of ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'x-hop', 'close']) {
    assert.ok(dropped.has(name), name);
  }
  for (const name of ['content-length', 'transfer-encoding', 'host']) assert.ok(!dropped.has(name), name);
});

test('OPTIONS goes upstream with Max-Forwards one less, capped at 255', () => {
  assert.equal(forwardedMaxForwards(head('OPTIONS', URL, ['Max-Forwards', '3'])), '2');
  assert.equal(forwardedMaxForwards(head('OPTIONS', URL, ['Max-Forwards', '99999999999'])), '255');
  assert.equal(forwardedMaxForwards(head('OPTIONS', URL)), undefined);
});
