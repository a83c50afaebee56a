// Which parsed request heads exceed the limits, and the parser options that bound the rest.
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { headRefusal, headServerOptions, headTimeoutMs } from '../../src/proxy/request-head.js';

const config = parseConfigText('limits:\n  maxRequestTargetBytes: 100\n  maxHeaderCount: 10\n  maxHeaderBytes: 4096\ntimeouts:\n  requestHeadSeconds: 7\n', 'test.yaml');

function head(url: string, headerCount: number, hosts: string[] = ['host.example'], version: [number, number] = [1, 1]): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  [req.httpVersionMajor, req.httpVersionMinor] = version;
  req.rawHeaders = [...hosts.flatMap((host) => ['Host', host]), ...Array.from({ length: headerCount - hosts.length }, (_, i) => [`x-h${i}`, 'v']).flat()];
  return req;
}

const cases: [name: string, url: string, headers: number, expected: string | undefined][] = [
  ['a target and header count at the limits', 'h'.repeat(100), 10, undefined],
  ['a target one byte over', `${'a'.repeat(101)}`, 1, 'uri-too-long'],
  ['one header field too many', 'host.example:443', 11, 'too-many-headers'],
  ['both: the target is reported first', 'a'.repeat(200), 50, 'uri-too-long'],
];
test('two Host header fields: duplicate-host, whether or not they agree', () => {
  assert.equal(headRefusal(head('host.example:443', 2, ['host.example', 'host.example']), config.limits), 'duplicate-host');
  assert.equal(headRefusal(head('host.example:443', 3, ['a.example', 'b.example']), config.limits), 'duplicate-host');
  assert.equal(headRefusal(head('host.example:443', 0, []), config.limits), undefined, 'no Host at all is left to the handlers');
});

test('HTTP/1.0 and HTTP/1.1 pass; HTTP/2.0 and HTTP/0.9 request lines get http-version-not-supported (505)', () => {
  assert.equal(headRefusal(head('host.example:443', 1, undefined, [1, 0]), config.limits), undefined);
  assert.equal(headRefusal(head('host.example:443', 1, undefined, [2, 0]), config.limits), 'http-version-not-supported');
  assert.equal(headRefusal(head('host.example:443', 1, undefined, [0, 9]), config.limits), 'http-version-not-supported');
});

for (const [name, url, headers, expected] of cases) {
  test(`${name}: ${expected ?? 'admitted'}`, () => {
    assert.equal(headRefusal(head(url, headers), config.limits), expected);
  });
}

test('the server options carry the head size, and the head timeout is requestHeadSeconds', () => {
  assert.deepEqual({ ...headServerOptions(config), headTimeoutMs: headTimeoutMs(config) }, { maxHeaderSize: 4096, headTimeoutMs: 7000 });
});
