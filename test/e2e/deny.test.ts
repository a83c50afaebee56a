// Refusals that must hold against a real upstream: every denied or malformed target gets its status, the
// connection is closed, nothing the client pipelined after the refused head is acted upon, and the origin —
// which every name below is mapped to, so that a bypass WOULD reach it — never sees a TCP connection.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordMatching } from '../fixtures/gateway.js';
import { HELLO_BODY } from '../fixtures/origin.js';
import { openTunnel, parseHead, rawExchange, statusCodes, type RawResult } from '../fixtures/raw-client.js';
import { useStage, type Stage } from '../fixtures/stage.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';

const GOOD = 'ws1.ods.opinsights.azure.com';

/** What a bypass would need: every name a denied request uses resolves to the origin. */
const MAPPED_TO_ORIGIN = ['*.ods.opinsights.azure.com', 'example.com', 'evilods.opinsights.azure.com', '*.evil.com', 'ods.opinsights.azure.com'];

function connectRequest(target: string, host = target): string {
  return `CONNECT ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
}

/** Sends `bytes` and checks the origin saw no connection and the gateway closed the connection. */
async function refusedWithoutUpstream(stage: Stage, bytes: string | Buffer): Promise<RawResult> {
  const before = stage.origin.connections;
  const result = await rawExchange(stage.gateway.port, bytes);
  assert.notEqual(result.ending, 'idle', `the gateway kept the connection open after answering ${JSON.stringify(result.text.slice(0, 80))}`);
  assert.equal(stage.origin.connections, before, 'the origin saw a connection');
  return result;
}

describe('denied and malformed targets', () => {
  const get = useStage({ resolveToOrigin: MAPPED_TO_ORIGIN });

  // `logged` is the normalised target the audit record must carry, where its spelling is unambiguous.
  const denied: readonly { name: string; target: string; reason: string; host?: string; logged?: string }[] = [
    { name: 'a name outside the allowlist', target: 'example.com:443', reason: 'not-in-allowlist', logged: 'example.com:443' },
    { name: 'a look-alike without the dot', target: 'evilods.opinsights.azure.com:443', reason: 'not-in-allowlist', logged: 'evilods.opinsights.azure.com:443' },
    { name: 'an allowed name as a prefix of another domain', target: `${GOOD}.evil.com:443`, reason: 'not-in-allowlist', logged: `${GOOD}.evil.com:443` },
    { name: 'the bare suffix of a wildcard entry', target: 'ods.opinsights.azure.com:443', reason: 'not-in-allowlist', logged: 'ods.opinsights.azure.com:443' },
    { name: 'a denied target with an allowed Host header', target: 'example.com:443', host: `${GOOD}:443`, reason: 'not-in-allowlist', logged: 'example.com:443' },
    { name: 'an allowed name on port 80', target: `${GOOD}:80`, reason: 'port-not-allowed', logged: `${GOOD}:80` },
    { name: 'an allowed name on port 8443', target: `${GOOD}:8443`, reason: 'port-not-allowed', logged: `${GOOD}:8443` },
    { name: 'an allowed name, upper case with a trailing dot, on port 80', target: 'WS1.ODS.OPINSIGHTS.AZURE.COM.:80', reason: 'port-not-allowed', logged: `${GOOD}:80` },
    { name: 'the IPv4 literal of the origin itself', target: '127.0.0.1:ORIGIN', reason: 'ip-literal', logged: '127.0.0.1:ORIGIN' },
    { name: 'the IPv6 loopback literal', target: '[::1]:443', reason: 'ip-literal', logged: '[::1]:443' },
    { name: 'the metadata address', target: '169.254.169.254:443', reason: 'ip-literal', logged: '169.254.169.254:443' },
    { name: 'an IPv4-mapped IPv6 literal of the origin', target: '[::ffff:127.0.0.1]:ORIGIN', reason: 'ip-literal' },
  ];

  for (const { name, target, reason, host, logged } of denied) {
    test(`403 ${reason}: ${name} (${target})`, async () => {
      const stage = get();
      const port = String(stage.origin.port);
      const since = stage.gateway.records.length;
      const result = await refusedWithoutUpstream(stage, connectRequest(target.replace('ORIGIN', port), host));
      assert.deepEqual(statusCodes(result.data), [403], result.text);
      const record = await stage.gateway.waitForRecord((r) => r.event === 'request-denied', 5000, since);
      assert.equal(record.eventId, 105);
      assert.equal(record.reason, reason);
      assert.equal(record.status, 403);
      assert.equal(record.method, 'CONNECT');
      if (logged !== undefined) assert.equal(record.target, logged.replace('ORIGIN', port));
    });
  }

  // IPv4 written the ways inet_aton accepts but a URL parser should not: refused as malformed or as
  // not allowed, either way never dialled.
  for (const target of ['2130706433:ORIGIN', '0x7f.0.0.1:ORIGIN', '0177.0.0.1:ORIGIN', '127.1:ORIGIN']) {
    test(`400 or 403, never dialled: numeric IPv4 form ${target}`, async () => {
      const stage = get();
      const result = await refusedWithoutUpstream(stage, connectRequest(target.replace('ORIGIN', String(stage.origin.port))));
      assert.ok([400, 403].includes(parseHead(result.data).status), result.text);
    });
  }

  const malformed: readonly { name: string; target: string }[] = [
    { name: 'no port', target: GOOD },
    { name: 'an empty port', target: `${GOOD}:` },
    { name: 'two ports', target: `${GOOD}:443:80` },
    { name: 'port 0', target: `${GOOD}:0` },
    { name: 'port 65536', target: `${GOOD}:65536` },
    { name: 'a signed port', target: `${GOOD}:+443` },
    { name: 'a path after the port', target: `${GOOD}:443/x` },
    { name: 'userinfo before an allowed name', target: `user@${GOOD}:443` },
    { name: 'an allowed name as userinfo', target: `${GOOD}@127.0.0.1:443` },
    { name: 'a full-width at sign (NFKC turns it into @)', target: `${GOOD}\uff20127.0.0.1:443` },
    { name: 'percent-encoding', target: 'ws1%2eods.opinsights.azure.com:443' },
    { name: 'a bracketed name', target: `[${GOOD}]:443` },
    { name: 'an empty label', target: 'ws1..ods.opinsights.azure.com:443' },
    { name: 'a label over 63 characters', target: `${'a'.repeat(64)}.ods.opinsights.azure.com:443` },
    { name: 'a name over 253 characters', target: `${'abcdefghi.'.repeat(24)}ods.opinsights.azure.com:443` },
    { name: 'a non-ASCII name (IDN must come as punycode)', target: 'bücher.ods.opinsights.azure.com:443' },
    { name: 'a wildcard character', target: '*.ods.opinsights.azure.com:443' },
    { name: 'an empty host', target: ':443' },
  ];

  for (const { name, target } of malformed) {
    test(`400: ${name} (${JSON.stringify(target)})`, async () => {
      const stage = get();
      const since = stage.gateway.records.length;
      const result = await refusedWithoutUpstream(stage, Buffer.from(connectRequest(target), 'utf8'));
      assert.deepEqual(statusCodes(result.data), [400], result.text);
      const record = await stage.gateway.waitForRecord((r) => r.event === 'bad-request', 5000, since);
      assert.equal(record.status, 400);
    });
  }

  test('400: whitespace inside the authority breaks the request line', async () => {
    const stage = get();
    const result = await refusedWithoutUpstream(stage, `CONNECT ${GOOD} :443 HTTP/1.1\r\nHost: ${GOOD}\r\n\r\n`);
    assert.equal(parseHead(result.data).status, 400);
  });

  test('an absolute-URI request to a name allowed only on 443 is refused and not forwarded', async () => {
    const stage = get();
    const result = await refusedWithoutUpstream(stage, `GET http://${GOOD}/hello HTTP/1.1\r\nHost: ${GOOD}\r\n\r\n`);
    assert.equal(parseHead(result.data).status, 403);
    await stage.gateway.waitForRecord(recordMatching({ event: 'request-denied', target: `${GOOD}:80`, reason: 'port-not-allowed' }));
  });

  test('an origin-form request is not a proxy request and is never forwarded to its Host', async () => {
    const stage = get();
    const result = await refusedWithoutUpstream(stage, `GET /hello HTTP/1.1\r\nHost: ${GOOD}:443\r\n\r\n`);
    const status = parseHead(result.data).status;
    assert.ok(status >= 400 && status < 500, `status ${status}`);
    await stage.gateway.waitForRecord(recordMatching({ event: 'not-a-proxy-request', eventId: 104 }));
  });

  const pipelinedAfter: readonly { name: string; first: string; status: number }[] = [
    { name: 'a denied CONNECT', first: connectRequest('example.com:443'), status: 403 },
    { name: 'a malformed CONNECT', first: connectRequest(`user@${GOOD}:443`), status: 400 },
  ];

  for (const { name, first, status } of pipelinedAfter) {
    test(`bytes pipelined after ${name} are never acted upon`, async () => {
      const stage = get();
      const smuggledHost = `pipelined-${status}.ods.opinsights.azure.com`;
      const second = connectRequest(`${smuggledHost}:443`);
      const third = `GET /hello HTTP/1.1\r\nHost: ${smuggledHost}\r\n\r\n`;
      const result = await refusedWithoutUpstream(stage, first + second + third);
      assert.deepEqual(statusCodes(result.data), [status], result.text);
      assert.ok(!result.text.includes(HELLO_BODY));
      assert.equal(stage.gateway.records.filter((r) => r.event === 'request-allowed' && r.target === `${smuggledHost}:443`).length, 0);
    });
  }

  test('after all of the above the gateway still relays an allowed CONNECT', async () => {
    const { gateway, origin, pki } = get();
    const before = origin.connections;
    const { socket } = await openTunnel(gateway.port, `${GOOD}:443`);
    const tls = await connectTls(socket, GOOD, pki.caPem);
    const response = await requestOver(tls, { method: 'GET', path: '/hello', host: GOOD });
    assert.equal(await readText(response), HELLO_BODY);
    assert.equal(origin.connections, before + 1);
  });
});
