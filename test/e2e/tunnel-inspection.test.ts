// The gateway looks into its tunnels without decrypting them, against real clients (curl, openssl s_client)
// and real origins: a TLS session to the CONNECT host passes (107), a session naming another host or a
// tunnel that carries no TLS is closed (105, 402), an offered version below the minimum is refused (106), and
// the allowed-client-certificate list is enforced on TLS 1.2 handshakes (105) while TLS 1.3 is a choice (106).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordMatching, startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { scrapeMetrics } from '../fixtures/exchange.js';
import { total } from '../../src/observability/exposition.js';
import { requireCommand, runCommand, type RunResult } from '../fixtures/tools.js';
import { agentCertificate, AGENT_GUID, AGENT_WORKSPACE, startMutualTlsOrigin, type ClientCertificate, type MutualTlsOrigin } from '../tls/capture.js';

const OTHER_WORKSPACE = '11111111-2222-4333-8444-555555555555';

/** curl through the gateway's plain listener to https://HOST/hello, verifying the origin against the test CA. */
function curl(gateway: Gateway, pki: TestPki, host: string, extra: readonly string[] = []): Promise<RunResult> {
  requireCommand('curl');
  return runCommand('curl', ['-sS', '--max-time', '15', '-x', gateway.proxyUrl, '--cacert', pki.caFile, ...extra, `https://${host}/hello`]);
}

function waitFor(gateway: Gateway, since: number, fields: Readonly<Record<string, unknown>>): Promise<AuditRecord> {
  return gateway.waitForRecord(recordMatching(fields), 10_000, since);
}

describe('tunnel inspection with the default settings', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let tls12: MutualTlsOrigin;
  let tls13: MutualTlsOrigin;
  let agent: ClientCertificate;
  let stranger: ClientCertificate;
  let gateway: Gateway;
  before(async () => {
    requireCommand('openssl');
    [pki, origin, tls12, tls13, agent, stranger] = await Promise.all([
      testPki(),
      startTlsOrigin(),
      startMutualTlsOrigin('TLSv1.2'),
      startMutualTlsOrigin('TLSv1.3'),
      agentCertificate(),
      agentCertificate(`/CN=${OTHER_WORKSPACE}/CN=${AGENT_GUID}/OU=Linux Monitoring Agent/O=Microsoft`),
    ]);
    gateway = await startGateway({
      configYaml: `workers: 1\nallowedClientCertificates: ["CN=${AGENT_WORKSPACE}"]\n`,
      args: [
        '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`,
        '--resolve', `*.oms.opinsights.azure.com=127.0.0.1:${tls12.port}`,
        '--resolve', `*.blob.core.windows.net=127.0.0.1:${tls13.port}`,
      ],
    });
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([origin?.close(), tls12?.close(), tls13?.close()]);
  });

  test('a TLS session to the CONNECT host without a client certificate is verified (event 107) and relayed', async () => {
    const since = gateway.records.length;
    const host = 'verified.ods.opinsights.azure.com';
    const result = await curl(gateway, pki, host, ['--tls-max', '1.2']);
    assert.equal(result.stdout, HELLO_BODY, result.stderr);
    const record = await waitFor(gateway, since, { event: 'tls-verified', target: `${host}:443` });
    assert.equal(record.eventId, 107);
    assert.equal(record.sni, host);
    assert.equal(record.tlsVersion, 'TLSv1.2');
    assert.equal(record.clientCertificate, 'none');
  });

  test('a TLS session naming another host is closed before the origin sees it (event 105, sni-mismatch)', async () => {
    const since = gateway.records.length;
    const asked = 'asked.ods.opinsights.azure.com';
    const named = 'named.ods.opinsights.azure.com';
    // curl asks the gateway for one host and speaks TLS for another, as a tunnel smuggling a session would.
    const result = await curl(gateway, pki, named, ['--connect-to', `${named}:443:${asked}:443`]);
    assert.notEqual(result.code, 0);
    const record = await waitFor(gateway, since, { event: 'request-denied', reason: 'sni-mismatch' });
    assert.equal(record.eventId, 105);
    assert.equal(record.target, `${asked}:443`);
    assert.equal(record.sni, named);
    assert.ok(!origin.sniNames.includes(named), 'the origin saw the smuggled session');
  });

  test('a tunnel that carries no TLS is closed (event 402, not-tls)', async () => {
    const since = gateway.records.length;
    const { socket } = await openTunnel(gateway.port, 'plaintext.ods.opinsights.azure.com:443');
    socket.resume();
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: plaintext.ods.opinsights.azure.com\r\n\r\n');
    await closed;
    const record = await waitFor(gateway, since, { event: 'tls-parse-error', reason: 'not-tls' });
    assert.equal(record.eventId, 402);
    const { samples } = await scrapeMetrics(gateway.metricsBaseUrl ?? '');
    assert.equal(total(samples, 'oms_gateway_rejections_total', { reason: 'not-tls' }), 1);
    assert.equal(total(samples, 'oms_gateway_tunnels_total', { outcome: 'refused', reason: 'not-tls' }), 1);
  });

  test('TLS 1.2: a client certificate on the list passes, and the origin sees it', async () => {
    const since = gateway.records.length;
    const host = `${AGENT_WORKSPACE}.oms.opinsights.azure.com`;
    const result = await curl(gateway, pki, host, ['--tls-max', '1.2', '--cert', agent.certFile, '--key', agent.keyFile]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`CN=${AGENT_WORKSPACE}, CN=${AGENT_GUID}, OU=Linux Monitoring Agent, O=Microsoft`));
    const record = await waitFor(gateway, since, { event: 'tls-verified', target: `${host}:443` });
    assert.equal(record.negotiatedVersion, 'TLSv1.2');
    assert.equal(record.allowedBy, `CN=${AGENT_WORKSPACE}`);
  });

  test('TLS 1.2: a client certificate not on the list closes the tunnel before the origin completes a handshake (event 105)', async () => {
    const since = gateway.records.length;
    const handshakes = tls12.secure();
    const host = `${OTHER_WORKSPACE}.oms.opinsights.azure.com`;
    const result = await curl(gateway, pki, host, ['--tls-max', '1.2', '--cert', stranger.certFile, '--key', stranger.keyFile]);
    assert.notEqual(result.code, 0);
    const record = await waitFor(gateway, since, { event: 'request-denied', reason: 'client-certificate-refused' });
    assert.equal(record.eventId, 105);
    assert.match(String(record.clientCertificate), new RegExp(`^CN=${OTHER_WORKSPACE}`));
    assert.equal(tls12.secure(), handshakes);
    const { samples } = await scrapeMetrics(gateway.metricsBaseUrl ?? '');
    assert.equal(total(samples, 'oms_gateway_rejections_total', { reason: 'client-certificate-refused' }), 1);
  });

  test('TLS 1.3 hides the certificate: with the list set, the default closes such tunnels (event 106)', async () => {
    const since = gateway.records.length;
    const result = await curl(gateway, pki, 'account.blob.core.windows.net', ['--cert', agent.certFile, '--key', agent.keyFile]);
    assert.notEqual(result.code, 0);
    const record = await waitFor(gateway, since, { event: 'tls-version-refused', reason: 'client-certificate-hidden' });
    assert.equal(record.eventId, 106);
    assert.equal(record.negotiatedVersion, 'TLSv1.3');
  });
});

describe('tunnel inspection with a TLS 1.3 minimum, refused missing SNI and TLS 1.3 certificates allowed', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    [pki, origin] = await Promise.all([testPki(), startTlsOrigin()]);
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection: {minVersion: TLSv1.3, missingSni: refuse, hiddenClientCertificates: allow}\n',
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
  });

  test('a client offering at most TLS 1.2 is refused (event 106, version-too-low)', async () => {
    const since = gateway.records.length;
    const result = await curl(gateway, pki, 'old.ods.opinsights.azure.com', ['--tls-max', '1.2']);
    assert.notEqual(result.code, 0);
    const record = await waitFor(gateway, since, { event: 'tls-version-refused', reason: 'version-too-low' });
    assert.equal(record.tlsVersion, 'TLSv1.2');
  });

  test('openssl s_client through the gateway without SNI is refused (sni-missing), with SNI it passes', async () => {
    requireCommand('openssl');
    const since = gateway.records.length;
    const proxy = `127.0.0.1:${gateway.port}`;
    const target = 'sclient.ods.opinsights.azure.com:443';
    const without = await runCommand('openssl', ['s_client', '-proxy', proxy, '-connect', target, '-noservername', '-CAfile', pki.caFile]);
    assert.match(without.stdout, /no peer certificate available/);
    await waitFor(gateway, since, { event: 'request-denied', reason: 'sni-missing', target });
    const withName = await runCommand('openssl', ['s_client', '-proxy', proxy, '-connect', target, '-servername', 'sclient.ods.opinsights.azure.com', '-CAfile', pki.caFile]);
    assert.match(withName.stdout, /-----BEGIN CERTIFICATE-----[\s\S]*Verify return code: 0 \(ok\)/, withName.stderr);
    await waitFor(gateway, since, { event: 'tls-verified', target });
  });
});
