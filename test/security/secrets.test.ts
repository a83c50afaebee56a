// Nothing secret leaves the gateway in an answer or a log line (Squid CVE-2025-62168 echoed Authorization
// headers in error pages), no answer is ever 401 (a 401 to CONNECT makes libcurl send origin credentials to
// the proxy, curl CVE-2026-86414), and no refusal carries a version banner.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { rawExchange, splitResponses } from '../fixtures/raw-client.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const USER = { name: 'agent', password: 'Pr0xy-S3cret-Zebra-7781' };
const ORIGIN_SECRET = 'Origin-Bearer-Token-55019';
const WRONG = 'Wr0ng-S3cret-Lynx-4402';
const MARKUP = '<script>alert(1)</script>';

const good = basicCredentials(USER.name, USER.password);
const wrong = basicCredentials(USER.name, WRONG);
const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Strings that must appear in no answer and no log line, in every form a client sends them. */
const SECRETS = [USER.password, WRONG, ORIGIN_SECRET, good.slice('Basic '.length), wrong.slice('Basic '.length), `${USER.name}:${USER.password}`];

const requests: readonly { name: string; raw: string }[] = [
  { name: 'a wrong password', raw: `CONNECT tunnel.example:443 HTTP/1.1\r\nHost: tunnel.example:443\r\nProxy-Authorization: ${wrong}\r\n\r\n` },
  { name: 'a denied target with the right password', raw: `CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nProxy-Authorization: ${good}\r\n\r\n` },
  { name: 'a malformed target with the right password', raw: `CONNECT ${USER.password}@tunnel.example:443 HTTP/1.1\r\nProxy-Authorization: ${good}\r\n\r\n` },
  { name: 'markup in the target', raw: `CONNECT ${encodeURIComponent(MARKUP)}:443 HTTP/1.1\r\nProxy-Authorization: ${good}\r\n\r\n` },
  { name: 'origin credentials on a refused plain request', raw: `GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${ORIGIN_SECRET}\r\nProxy-Authorization: ${good}\r\n\r\n` },
  { name: 'origin credentials without proxy credentials', raw: `GET http://tunnel.example/ HTTP/1.1\r\nHost: tunnel.example\r\nAuthorization: Bearer ${ORIGIN_SECRET}\r\n\r\n` },
  { name: 'two Proxy-Authorization headers', raw: `CONNECT tunnel.example:443 HTTP/1.1\r\nProxy-Authorization: ${good}\r\nProxy-Authorization: ${wrong}\r\n\r\n` },
  { name: 'credentials in a request that fails to parse', raw: `CONNECT tunnel.example:443 HTTP/1.1\r\nProxy-Authorization: ${good}\r\nBad Header: ${ORIGIN_SECRET}\r\n\r\n` },
  { name: 'a head too large, full of credentials', raw: `CONNECT tunnel.example:443 HTTP/1.1\r\n${`Proxy-Authorization: ${wrong}\r\n`.repeat(600)}\r\n` },
  { name: 'a protocol upgrade', raw: `GET http://tunnel.example/ HTTP/1.1\r\nHost: tunnel.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nProxy-Authorization: ${good}\r\n\r\n` },
  { name: 'an origin-form request', raw: `GET /${USER.password} HTTP/1.1\r\nHost: tunnel.example\r\nAuthorization: Bearer ${ORIGIN_SECRET}\r\n\r\n` },
];

describe('secrets in answers and logs', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  const answers = new Map<string, string>();
  before(async () => {
    sink = await startTcpSink();
    const configYaml = await basicAuthYaml([USER], { workers: 1, auth: { throttle: { failuresBeforeDelay: 1000, lockoutFailures: 0 } } });
    gateway = await startGateway({ configYaml, args: ['--allow-host', 'tunnel.example', '--allow-host', 'tunnel.example:80', '--resolve', `tunnel.example=127.0.0.1:${sink.port}`] });
    // A password check can take a second on a busy machine; the gateway closes each connection after answering.
    for (const { name, raw } of requests) answers.set(name, (await rawExchange(gateway.port, raw, { idleMs: 10_000, maxMs: 15_000 })).text);
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  for (const { name } of requests) {
    test(`${name}: refused, without echoing a secret, the request or a version`, () => {
      const text = answers.get(name) ?? '';
      const responses = splitResponses(Buffer.from(text, 'latin1'));
      assert.equal(responses.length, 1, JSON.stringify(text.slice(0, 200)));
      const [response] = responses;
      assert.ok(response !== undefined && response.head.status >= 400 && response.head.status !== 401, `status ${response?.head.status}`);
      if (response.head.status === 407) assert.equal(response.head.headers['proxy-authenticate'], 'Basic realm="oms-gateway"');
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `the answer contains ${JSON.stringify(secret)}`);
      assert.ok(!text.includes(MARKUP) && !text.includes(encodeURIComponent(MARKUP)), 'the answer echoes the request target');
      for (const banner of ['server', 'via', 'x-powered-by']) assert.equal(response.head.headers[banner], undefined, `${banner} header`);
      assert.ok(!text.includes(version) && !/oms-gateway\/|node\.?js/i.test(text), 'the answer names a version');
    });
  }

  test('nothing the gateway logged contains a secret', () => {
    assert.ok(gateway.records.length > requests.length, 'the requests were logged');
    for (const secret of SECRETS) {
      assert.ok(!gateway.stdout.includes(secret), `stdout contains ${JSON.stringify(secret)}`);
      assert.ok(!gateway.stderr.includes(secret), `stderr contains ${JSON.stringify(secret)}`);
    }
  });

  test('the right password opens the tunnel (the refusals above were not for want of working credentials)', async () => {
    const text = (await rawExchange(gateway.port, `CONNECT tunnel.example:443 HTTP/1.1\r\nProxy-Authorization: ${good}\r\n\r\n`, { idleMs: 5000 })).text;
    assert.match(text, /^HTTP\/1\.1 200 /);
  });
});
