// The audit log of an authenticated run at the most verbose level, read whole (stdout and stderr): every line
// is a record with an event name and the ID the event table gives it, every decision and every closed tunnel
// has its record, and no password, password hash or Proxy-Authorization value appears anywhere — neither the
// proxy users' nor the metrics scrapers', right or wrong.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/auth/password.js';
import { EVENTS } from '../../src/observability/events.js';
import { runCli } from '../fixtures/cli.js';
import { scrapeMetrics } from '../fixtures/exchange.js';
import { startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startHttpOrigin, startTlsOrigin, type HttpOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki } from '../fixtures/pki.js';
import { connectStatus, openTunnel } from '../fixtures/raw-client.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';
import { basicCredentials } from '../fixtures/users.js';

const AGENT = { name: 'omsagent', password: 'Proxy-Pass-9931:with@signs' };
const WRONG = 'Wrong-Proxy-Pass-1287';
const SCRAPER = { name: 'prometheus', password: 'Scrape-Pass-5519' };
const WRONG_SCRAPER = 'Wrong-Scrape-Pass-3342';
const TARGET = 'ws1.ods.opinsights.azure.com';

/** Sends `GET http://host/hello` to the gateway as a proxy request; resolves with the status. */
function proxiedGet(gatewayPort: number, url: string, authorization: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: new URL(url).host };
    if (authorization !== undefined) headers['proxy-authorization'] = authorization;
    const req = httpRequest({ host: '127.0.0.1', port: gatewayPort, method: 'GET', path: url, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the audit log of an authenticated run', () => {
  let tlsOrigin: TlsOrigin;
  let httpOrigin: HttpOrigin;
  let gateway: Gateway;
  let hashes: string[];

  before(async () => {
    const pki = await testPki();
    tlsOrigin = await startTlsOrigin();
    httpOrigin = await startHttpOrigin();
    hashes = [await hashPassword(AGENT.password), await hashPassword(SCRAPER.password)];
    const configYaml = [
      'log:',
      '  level: trace',
      'auth:',
      '  mode: basic',
      '  users:',
      `    - {name: ${AGENT.name}, passwordHash: "${hashes[0]}"}`,
      'metrics:',
      '  users:',
      `    - {name: ${SCRAPER.name}, passwordHash: "${hashes[1]}"}`,
      'allowedHosts: ["plain.example.net:80", "closed.example.net"]',
      '',
    ].join('\n');
    gateway = await startGateway({
      configYaml,
      // Several worker processes start slowly on a loaded CI machine.
      startTimeoutMs: 60_000,
      args: [
        '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${tlsOrigin.port}`,
        '--resolve', `plain.example.net=127.0.0.1:${httpOrigin.port}`,
        '--resolve', 'closed.example.net=127.0.0.1:1',
      ],
    });
    assert.ok(gateway.metricsBaseUrl !== undefined);
    const good = basicCredentials(AGENT.name, AGENT.password);
    const bad = basicCredentials(AGENT.name, WRONG);

    // 1. A tunnel with the right credentials, TLS inside it, one request, closed by the client.
    const tunnel = await openTunnel(gateway.port, `${TARGET}:443`, { headers: { 'Proxy-Authorization': good } });
    const tls = await connectTls(tunnel.socket, TARGET, pki.caPem);
    const res = await requestOver(tls, { method: 'GET', path: '/hello', host: TARGET });
    assert.equal(await readText(res), HELLO_BODY);
    // 2-4. Wrong and missing credentials, and a target outside the allowlist.
    assert.equal((await connectStatus(gateway.port, `${TARGET}:443`, { headers: { 'Proxy-Authorization': bad } })).status, 407);
    assert.equal((await connectStatus(gateway.port, `${TARGET}:443`)).status, 407);
    assert.equal((await connectStatus(gateway.port, 'example.com:443', { headers: { 'Proxy-Authorization': good } })).status, 403);
    // 5-6. Plain HTTP with right and wrong credentials; the origin must not see them.
    assert.equal(await proxiedGet(gateway.port, 'http://plain.example.net/hello', good), 200);
    assert.equal(await proxiedGet(gateway.port, 'http://plain.example.net/hello', bad), 407);
    // 7. A target that refuses the connection.
    assert.equal((await connectStatus(gateway.port, 'closed.example.net:443', { headers: { 'Proxy-Authorization': good } })).status, 502);
    // 8. Scrapes with the scraper's right and wrong password, and `status` with the password on stdin.
    const base = gateway.metricsBaseUrl;
    assert.equal((await scrapeMetrics(base, '/metrics', basicCredentials(SCRAPER.name, SCRAPER.password))).status, 200);
    assert.equal((await scrapeMetrics(base, '/metrics', basicCredentials(SCRAPER.name, WRONG_SCRAPER))).status, 401);
    const status = await runCli(['status', '--metrics-url', `${base}/metrics`, '--metrics-user', SCRAPER.name], { input: SCRAPER.password });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /tunnels +\d+ relayed/);
    const refused = await runCli(['status', '--metrics-url', `${base}/metrics`, '--metrics-user', SCRAPER.name], { input: WRONG_SCRAPER });
    assert.equal(refused.code, 1);
    assert.ok(!refused.stderr.includes(WRONG_SCRAPER));

    await gateway.waitForRecord((r) => r.event === 'tunnel-closed', 10_000);
    assert.equal(await gateway.stop(), 0);
  });
  after(async () => {
    await gateway?.stop();
    await tlsOrigin?.close();
    await httpOrigin?.close();
  });

  test('no secret appears anywhere in stdout or stderr', () => {
    const output = gateway.stdout + gateway.stderr;
    const b64 = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');
    const secrets = [
      AGENT.password, WRONG, SCRAPER.password, WRONG_SCRAPER,
      b64(AGENT.name, AGENT.password), b64(AGENT.name, WRONG), b64(SCRAPER.name, SCRAPER.password), b64(SCRAPER.name, WRONG_SCRAPER),
      ...hashes,
    ];
    assert.ok(output.length > 2000, 'the run logged almost nothing: the test would prove nothing');
    for (const secret of secrets) assert.ok(!output.includes(secret), `a ${secret.length}-character secret is in the log`);
    assert.doesNotMatch(output, /Basic [A-Za-z0-9+/=]{8,}/);
    assert.doesNotMatch(output, /scrypt\$/);
    assert.doesNotMatch(output, /proxy-authorization"\s*:\s*"(?!\[redacted\])/i);
  });

  test('the plain-HTTP origin never saw the proxy credentials', () => {
    assert.equal(httpOrigin.requests.length, 1);
    assert.equal(httpOrigin.requests[0]?.headers['proxy-authorization'], undefined);
  });

  test('every line is a JSON record with an event name and the ID of the event table', () => {
    const lines = gateway.stdout.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, gateway.records.length, 'a line on stdout is not a JSON record');
    for (const record of gateway.records) {
      assert.equal(typeof record.event, 'string', JSON.stringify(record));
      const id = EVENTS[record.event as keyof typeof EVENTS];
      assert.notEqual(id, undefined, `event ${String(record.event)} is not in the event table`);
      assert.equal(record.eventId, id, `event ${String(record.event)}`);
    }
    assert.equal(gateway.stderr, '');
  });

  test('every decision and every closed tunnel has its record', () => {
    const of = (event: string, fields: Readonly<Record<string, unknown>> = {}): AuditRecord[] =>
      gateway.records.filter((r) => r.event === event && Object.entries(fields).every(([k, v]) => r[k] === v));
    const expected: [event: string, fields: Record<string, unknown>, count: number][] = [
      ['service-started', {}, 1],
      ['request-allowed', { method: 'CONNECT', target: `${TARGET}:443`, user: AGENT.name, eventId: 103 }, 1],
      ['request-allowed', { method: 'CONNECT', target: 'closed.example.net:443', user: AGENT.name }, 1],
      ['request-allowed', { method: 'GET', target: 'plain.example.net:80', user: AGENT.name }, 1],
      ['auth-failed', { method: 'CONNECT', reason: 'bad-credentials', status: 407, eventId: 1002 }, 1],
      ['auth-failed', { method: 'CONNECT', reason: 'missing', status: 407 }, 1],
      ['auth-failed', { method: 'GET', reason: 'bad-credentials', status: 407 }, 1],
      ['auth-failed', { listener: 'metrics', reason: 'bad-credentials', status: 401 }, 2],
      ['request-denied', { target: 'example.com:443', reason: 'not-in-allowlist', user: AGENT.name, eventId: 105 }, 1],
      ['upstream-error', { target: 'closed.example.net:443', reason: 'connect-refused', eventId: 403 }, 1],
      ['tunnel-closed', { target: `${TARGET}:443`, user: AGENT.name, eventId: 1003 }, 1],
      ['request-completed', { target: 'plain.example.net:80', status: 200 }, 1],
      ['shutdown-started', {}, 1],
      ['service-stopped', { eventId: 102 }, 1],
    ];
    for (const [event, fields, count] of expected) {
      assert.equal(of(event, fields).length, count, `${event} ${JSON.stringify(fields)}`);
    }
    const closed = of('tunnel-closed')[0];
    assert.ok(closed !== undefined && Number(closed.bytesFromClient) > 0 && Number(closed.bytesToClient) > 0);
    assert.ok(['client', 'upstream'].includes(String(closed.closedBy)));
    for (const record of [...of('request-allowed'), ...of('request-denied'), ...of('auth-failed', { status: 407 })]) {
      assert.equal(record.client, '127.0.0.1', JSON.stringify(record));
    }
  });

  test('the records of one exchange share its exchangeId, and no two exchanges share one', () => {
    const exchangeRecords = gateway.records.filter((r) => r.method !== undefined && r.listener !== 'metrics');
    // 7 exchanges: a tunnel, 3 refused CONNECTs, 2 forwarded GETs and the tunnel that could not be dialled.
    assert.equal(exchangeRecords.length >= 7, true, 'the run wrote too few records to judge');
    for (const record of exchangeRecords) assert.match(String(record.exchangeId), /^[0-9a-f]{8}-[0-9a-z]+$/, JSON.stringify(record));
    const byId = new Map<string, string[]>();
    for (const record of exchangeRecords) byId.set(String(record.exchangeId), [...(byId.get(String(record.exchangeId)) ?? []), String(record.event)]);
    assert.equal(byId.size, 7, JSON.stringify([...byId]));
    const tunnel = gateway.records.find((r) => r.event === 'tunnel-closed' && r.target === `${TARGET}:443`);
    assert.deepEqual(byId.get(String(tunnel?.exchangeId)), ['request-allowed', 'tls-verified', 'tunnel-closed']);
    const forwarded = gateway.records.find((r) => r.event === 'request-completed');
    assert.deepEqual(byId.get(String(forwarded?.exchangeId)), ['request-allowed', 'request-completed']);
    const unreachable = gateway.records.find((r) => r.event === 'upstream-error');
    assert.deepEqual(byId.get(String(unreachable?.exchangeId)), ['request-allowed', 'upstream-error']);
    for (const events of byId.values()) assert.ok(events.filter((e) => e === 'tunnel-closed' || e === 'request-completed').length <= 1, events.join());
  });
});
