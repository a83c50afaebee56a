// Property-based tests of request-head handling against the real gateway: generated CONNECT authorities and
// absolute URIs — allowed names, loopback in every IP spelling, userinfo, brackets, percent-encoding,
// look-alike Unicode, odd ports, random bytes — with generated header sets, sent raw. The address rules are
// switched off, so the allowlist and the target parser alone stand between these requests and a listener
// on the gateway's own host that every bypass would reach. Properties: that listener never sees a
// connection, every request is answered or closed (none hangs), and the gateway stays up and serving.
// Bounded runs in CI; `npm run fuzz` sets FUZZ_RUNS=20000.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { parseHead } from '../fixtures/raw-client.js';
import { expectStillServes } from '../fixtures/refusal.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const ALLOWED = 'ws1.ods.opinsights.azure.com';

type Answer = number | 'closed' | 'hung';

/** The status of the first answer (the connection is then dropped), 'closed' without one, 'hung' after `timeoutMs`. */
function firstAnswer(port: number, bytes: Buffer, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    const done = (answer: Answer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done('hung'), timeoutMs);
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.includes('\r\n\r\n')) done(parseHead(data).status);
    });
    socket.on('close', () => done('closed'));
  });
}

describe('generated request heads against the real gateway', () => {
  let allowed: TcpSink;
  let forbidden: TcpSink;
  let gateway: Gateway;
  before(async () => {
    allowed = await startTcpSink();
    forbidden = await startTcpSink();
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\ndeniedAddresses: []\nlimits:\n  maxConnectionsPerClient: 0\n',
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${allowed.port}`],
    });
  });
  after(async () => {
    await gateway.stop();
    await allowed.close();
    await forbidden.close();
  });

  const port = (): fc.Arbitrary<string> =>
    fc.oneof(
      fc.constantFrom('443', 'FORBIDDEN', '0443', '+443', '443.', '', '65979', '4\u0663\u0663', '0x1bb', ' 443', '443 '),
      fc.integer({ min: 0, max: 70_000 }).map(String),
    );
  const host = (): fc.Arbitrary<string> =>
    fc.oneof(
      fc.constantFrom(ALLOWED, ALLOWED.toUpperCase(), `${ALLOWED}.`, 'localhost', '127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[127.0.0.1]', `[${ALLOWED}]`, '0.0.0.0', '[::]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]'),
      fc.ipV4Extended(),
      fc.ipV6().map((ip) => `[${ip}]`),
      fc.domain(),
    );
  const junk = fc.constantFrom('@', '\uff20', '%40', '%2e', '.', '..', ':', '#', '/', '\\', ' ', '\t', '[', ']', '%00', 'xn--', '\u0430', '\u3002', '\u0000', '*');
  const authority = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.option(fc.tuple(host(), junk), { nil: undefined }), host(), fc.option(junk, { nil: undefined }), port()).map(([prefix, h, suffix, p]) => `${prefix === undefined ? '' : prefix.join('')}${h}${suffix ?? ''}:${p}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  );
  const headerValue = fc.oneof(authority, fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.constantFrom('chunked', 'Chunked', 'chunked, identity', '5', '0', '+5', '5,5'));
  const header = fc.tuple(
    fc.constantFrom('Host', 'Proxy-Authorization', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'X-Forwarded-For', 'Forwarded', 'X-Junk', 'host', 'HOST '),
    headerValue,
  );
  const request = fc.record({
    form: fc.constantFrom('connect', 'absolute'),
    authority,
    headers: fc.array(header, { maxLength: 6 }),
    trailing: fc.constantFrom('', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', '\u0016\u0003\u0001'),
  });

  test(`${RUNS} generated requests: the forbidden listener is never dialled and every request is answered or closed`, { timeout: Math.max(120_000, RUNS * 200) }, async () => {
    const forbiddenPort = String(forbidden.port);
    await fc.assert(
      fc.asyncProperty(request, async ({ form, authority: generated, headers, trailing }) => {
        const target = generated.replaceAll('FORBIDDEN', forbiddenPort);
        const line = form === 'connect' ? `CONNECT ${target} HTTP/1.1` : `GET http://${target}/ HTTP/1.1`;
        const fields = headers.map(([name, value]) => `${name}: ${value.replaceAll('FORBIDDEN', forbiddenPort)}\r\n`).join('');
        const answer = await firstAnswer(gateway.port, Buffer.from(`${line}\r\n${fields}\r\n${trailing}`, 'utf8'));
        assert.equal(forbidden.connections, 0, `dialled the forbidden listener for ${JSON.stringify(line)}`);
        // A request whose headers announce a body waits for it; anything else must be answered or closed.
        const awaitsBody = headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
        assert.ok(answer !== 'hung' || awaitsBody, `no answer to ${JSON.stringify(line)}`);
      }),
      { numRuns: RUNS },
    );
    assert.equal(forbidden.connections, 0);
    const state = await Promise.race([gateway.exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('running'), 200))]);
    assert.equal(state, 'running');
    await expectStillServes(gateway, `${ALLOWED}:443`);
    assert.ok(allowed.connections > 0, 'no generated request reached the allowed upstream: the generator is too narrow');
  });
});
