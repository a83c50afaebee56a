// The metrics the data path updates, read back from the registry's own exposition text: each method moves
// exactly the series it names, byte counters follow open sockets live and keep their totals after close,
// and names follow the Prometheus conventions (their documentation, docs/metrics.md, is checked in test/docs/).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseExposition, total, type Sample } from '../../src/observability/exposition.js';
import { GatewayMetrics, METRIC_PREFIX, type RefusalInfo, type SessionKind } from '../../src/observability/metrics.js';

const WORKSPACE = '0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
const m = (suffix: string): string => `${METRIC_PREFIX}${suffix}`;

function newMetrics(options: Partial<ConstructorParameters<typeof GatewayMetrics>[0]> = {}): GatewayMetrics {
  return new GatewayMetrics({ version: '9.8.7', workspaceLabels: false, maxWorkspaces: 10, ...options });
}

async function scrape(metrics: GatewayMetrics): Promise<Sample[]> {
  return parseExposition(await metrics.expose());
}

async function value(metrics: GatewayMetrics, suffix: string, labels: Record<string, string> = {}): Promise<number> {
  return total(await scrape(metrics), m(suffix), labels);
}

/** Waits (bounded) until `read` returns `expected`, for counts that follow socket events. */
async function eventually(read: () => Promise<number>, expected: number): Promise<void> {
  let last = await read();
  for (let i = 0; i < 100 && last !== expected; i += 1) {
    await sleep(20);
    last = await read();
  }
  assert.equal(last, expected);
}

describe('names', () => {
  test('every metric of ours has the prefix and the unit suffix of its type', async () => {
    const families = await newMetrics().registry.getMetricsAsJSON();
    const ours = families.filter((f) => f.name.startsWith(METRIC_PREFIX));
    assert.ok(ours.length >= 25, `only ${ours.length} families`);
    for (const family of ours) {
      if (String(family.type) === 'counter') assert.match(family.name, /_total$/, family.name);
      else assert.doesNotMatch(family.name, /_total$/, family.name);
      if (String(family.type) === 'histogram') assert.match(family.name, /_seconds$/, family.name);
      if (/bytes/.test(family.name)) assert.match(family.name, /_bytes(_total)?$/, family.name);
      assert.match(family.name, /^[a-z_]+$/, family.name);
    }
    const others = families.filter((f) => !f.name.startsWith(METRIC_PREFIX)).map((f) => f.name);
    assert.ok(others.every((name) => /^(process|nodejs)_/.test(name)), `unexpected names: ${others.join(', ')}`);
  });

  test('the default process metrics and build_info are there from the start', async () => {
    const samples = await scrape(newMetrics());
    assert.ok(samples.some((s) => s.name === 'process_start_time_seconds'));
    assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));
    assert.deepEqual(
      samples.filter((s) => s.name === m('build_info')).map((s) => s.labels),
      [{ version: '9.8.7', node_version: process.version }],
    );
  });
});

describe('refusals and failures', () => {
  const refusals: readonly { name: string; kind: SessionKind; refusal: RefusalInfo; reason: string; authFailure?: string }[] = [
    { name: 'a bare code on a tunnel', kind: 'tunnel', refusal: 'shutting-down', reason: 'shutting-down' },
    { name: 'a bare code on a request', kind: 'request', refusal: 'not-a-proxy-request', reason: 'not-a-proxy-request' },
    { name: 'a policy denial (the policy reason is the label)', kind: 'request', refusal: { code: 'denied', decision: { reason: 'port-not-allowed' } }, reason: 'port-not-allowed' },
    { name: 'a denial after resolution', kind: 'tunnel', refusal: { code: 'denied', decision: { reason: 'address-not-allowed' } }, reason: 'address-not-allowed' },
    { name: 'wrong credentials', kind: 'tunnel', refusal: { code: 'auth-required', authFailure: 'bad-credentials' }, reason: 'auth-required', authFailure: 'bad-credentials' },
    { name: 'missing credentials', kind: 'request', refusal: { code: 'auth-required', authFailure: 'missing' }, reason: 'auth-required', authFailure: 'missing' },
  ];
  for (const { name, kind, refusal, reason, authFailure } of refusals) {
    test(`refused: ${name}`, async () => {
      const metrics = newMetrics();
      metrics.refused(kind, refusal);
      metrics.refused(kind, refusal);
      const samples = await scrape(metrics);
      const family = kind === 'tunnel' ? 'tunnels_total' : 'requests_total';
      const other = kind === 'tunnel' ? 'requests_total' : 'tunnels_total';
      assert.equal(total(samples, m(family), { outcome: 'refused', reason }), 2);
      assert.equal(total(samples, m(family)), 2);
      assert.equal(total(samples, m(other)), 0);
      assert.equal(total(samples, m('rejections_total'), { reason }), 2);
      assert.equal(total(samples, m('auth_failures_total')), authFailure === undefined ? 0 : 2);
      if (authFailure !== undefined) assert.equal(total(samples, m('auth_failures_total'), { reason: authFailure }), 2);
      assert.equal(total(samples, m('errors_total')), 0);
    });
  }

  test('an upstream failure counts the session as failed, the error kind, and one error', async () => {
    const metrics = newMetrics();
    metrics.upstreamFailed('tunnel', 'connect-timeout');
    metrics.upstreamFailed('request', 'dns-failure');
    const samples = await scrape(metrics);
    assert.equal(total(samples, m('tunnels_total'), { outcome: 'failed', reason: 'connect-timeout' }), 1);
    assert.equal(total(samples, m('requests_total'), { outcome: 'failed', reason: 'dns-failure' }), 1);
    assert.equal(total(samples, m('upstream_errors_total'), { kind: 'connect-timeout' }), 1);
    assert.equal(total(samples, m('upstream_errors_total'), { kind: 'dns-failure' }), 1);
    assert.equal(total(samples, m('errors_total'), { kind: 'upstream' }), 2);
    assert.equal(total(samples, m('rejections_total')), 0);
  });

  test('an upstream error after relaying, an internal error and an abandoned tunnel', async () => {
    const metrics = newMetrics();
    metrics.upstreamError('upstream-error');
    metrics.internalError();
    metrics.tunnelAbandoned('client-closed');
    const samples = await scrape(metrics);
    assert.equal(total(samples, m('upstream_errors_total'), { kind: 'upstream-error' }), 1);
    assert.equal(total(samples, m('errors_total'), { kind: 'upstream' }), 1);
    assert.equal(total(samples, m('errors_total'), { kind: 'internal' }), 1);
    assert.equal(total(samples, m('tunnels_total'), { outcome: 'failed', reason: 'client-closed' }), 1);
    assert.equal(total(samples, m('requests_total')), 0);
  });
});

describe('client connections', () => {
  let server: Server;
  const accepted: Socket[] = [];
  const metrics = newMetrics();
  before(async () => {
    server = createServer((socket) => {
      accepted.push(socket);
      const client = socket.remoteAddress ?? 'unknown';
      metrics.clientConnected(client);
      socket.on('close', () => metrics.clientDisconnected(client));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const socket of accepted) socket.destroy();
    server.close();
  });

  test('counts open connections and distinct client addresses until each socket closes', async () => {
    const port = (server.address() as AddressInfo).port;
    const from = async (localAddress: string): Promise<Socket> => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      await once(socket, 'connect');
      return socket;
    };
    const clients = [await from('127.0.0.1'), await from('127.0.0.2'), await from('127.0.0.2')];
    await eventually(() => value(metrics, 'active_client_connections'), 3);
    assert.equal(await value(metrics, 'connected_clients'), 2);

    clients[2]?.destroy();
    await eventually(() => value(metrics, 'active_client_connections'), 2);
    assert.equal(await value(metrics, 'connected_clients'), 2, '127.0.0.2 still has a connection');

    clients[1]?.destroy();
    await eventually(() => value(metrics, 'connected_clients'), 1);
    clients[0]?.destroy();
    await eventually(() => value(metrics, 'active_client_connections'), 0);
    assert.equal(await value(metrics, 'connected_clients'), 0);
  });
});

describe('traffic', () => {
  let server: Server;
  const accepted: Socket[] = [];
  before(async () => {
    // The far end of an "upstream" socket: answers 300 bytes once it has read 1000.
    server = createServer((socket) => {
      accepted.push(socket);
      let seen = 0;
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen === 1000) socket.write(Buffer.alloc(300, 0x42));
      });
      socket.on('error', () => undefined);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => {
    for (const socket of accepted) socket.destroy();
    server.close();
  });

  async function upstreamAfterExchange(): Promise<Socket> {
    const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    await once(socket, 'connect');
    socket.write(Buffer.alloc(1000, 0x41));
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    for (let i = 0; i < 200 && received < 300; i += 1) await sleep(10);
    assert.equal(received, 300);
    return socket;
  }

  test('bytes of an open tunnel show up at the next scrape and stay after it closes', async () => {
    const metrics = newMetrics({ workspaceLabels: true });
    const entry = '*.ods.opinsights.azure.com';
    const upstream = await upstreamAfterExchange();
    const meter = metrics.tunnelOpened({ entry, host: `${WORKSPACE}.ods.opinsights.azure.com` }, upstream);

    let samples = await scrape(metrics);
    assert.equal(total(samples, m('active_tunnels')), 1);
    assert.equal(total(samples, m('tunnels_total'), { outcome: 'relayed', reason: 'none' }), 1);
    assert.equal(total(samples, m('entry_requests_total'), { entry }), 1);
    assert.equal(total(samples, m('workspace_requests_total'), { workspace: WORKSPACE }), 1);
    for (const [suffix, labels] of [['relayed_bytes_total', {}], ['entry_relayed_bytes_total', { entry }], ['workspace_relayed_bytes_total', { workspace: WORKSPACE }]] as const) {
      assert.equal(total(samples, m(suffix), { ...labels, direction: 'from_client' }), 1000, suffix);
      assert.equal(total(samples, m(suffix), { ...labels, direction: 'to_client' }), 300, suffix);
    }

    upstream.destroy();
    metrics.tunnelClosed(meter, { bytesFromClient: 1000, bytesToClient: 300, durationMs: 1500, closedBy: 'upstream' });
    samples = await scrape(metrics);
    assert.equal(total(samples, m('active_tunnels')), 0);
    assert.equal(total(samples, m('relayed_bytes_total'), { direction: 'from_client' }), 1000);
    assert.equal(total(samples, m('relayed_bytes_total'), { direction: 'to_client' }), 300);
    assert.equal(total(samples, m('tunnel_duration_seconds_count'), { closed_by: 'upstream' }), 1);
    assert.equal(total(samples, m('tunnel_duration_seconds_sum'), { closed_by: 'upstream' }), 1.5);
    assert.equal(total(samples, m('tunnel_duration_seconds_bucket'), { closed_by: 'upstream', le: '1' }), 0);
    assert.equal(total(samples, m('tunnel_duration_seconds_bucket'), { closed_by: 'upstream', le: '5' }), 1);
  });

  test('forwarded requests add to the same byte totals and count as requests, not tunnels', async () => {
    const metrics = newMetrics();
    const entry = 'crl.microsoft.com';
    for (let i = 0; i < 2; i += 1) {
      const upstream = await upstreamAfterExchange();
      const meter = metrics.requestForwarded({ entry, host: 'crl.microsoft.com' }, upstream);
      upstream.destroy();
      metrics.requestCompleted(meter);
    }
    const samples = await scrape(metrics);
    assert.equal(total(samples, m('requests_total'), { outcome: 'relayed' }), 2);
    assert.equal(total(samples, m('tunnels_total')), 0);
    assert.equal(total(samples, m('active_tunnels')), 0);
    assert.equal(total(samples, m('entry_relayed_bytes_total'), { entry, direction: 'from_client' }), 2000);
    assert.equal(total(samples, m('entry_relayed_bytes_total'), { entry, direction: 'to_client' }), 600);
    assert.equal(total(samples, m('workspace_requests_total')), 0, 'workspace labels are off');
  });

  test('traffic that report mode relayed without an entry is labelled "none"', async () => {
    const metrics = newMetrics();
    const upstream = await upstreamAfterExchange();
    metrics.requestCompleted(metrics.requestForwarded({ entry: undefined, host: 'example.com' }, upstream));
    upstream.destroy();
    assert.equal(await value(metrics, 'entry_requests_total', { entry: 'none' }), 1);
  });
});

describe('timings, look-ups and service state', () => {
  test('upstream connect time is observed for connections that succeed only', async () => {
    const metrics = newMetrics();
    assert.equal(await metrics.timeUpstreamConnect(sleep(30).then(() => 'socket')), 'socket');
    await assert.rejects(metrics.timeUpstreamConnect(Promise.reject(new Error('refused'))), /refused/);
    const samples = await scrape(metrics);
    assert.equal(total(samples, m('upstream_connect_duration_seconds_count')), 1);
    const seconds = total(samples, m('upstream_connect_duration_seconds_sum'));
    assert.ok(seconds >= 0.025 && seconds < 5, `observed ${seconds} s`);
  });

  const calls: readonly { name: string; call: (metrics: GatewayMetrics) => void; suffix: string; labels: Record<string, string>; expected: number }[] = [
    { name: 'a DNS answer', call: (x) => x.dnsLookup('ok'), suffix: 'dns_lookups_total', labels: { result: 'ok' }, expected: 1 },
    { name: 'a DNS time-out', call: (x) => x.dnsLookup('timeout'), suffix: 'dns_lookups_total', labels: { result: 'timeout' }, expected: 1 },
    { name: 'a DNS cache hit', call: (x) => x.dnsCacheHit(), suffix: 'dns_cache_hits_total', labels: {}, expected: 1 },
    { name: 'a lockout', call: (x) => x.authLockout(), suffix: 'auth_lockouts_total', labels: {}, expected: 1 },
    { name: 'a failed reload', call: (x) => x.configLoaded(false, true), suffix: 'config_reloads_total', labels: { result: 'failure' }, expected: 1 },
    { name: 'a failed reload clears the success flag', call: (x) => x.configLoaded(false, true), suffix: 'config_last_reload_successful', labels: {}, expected: 0 },
    { name: 'a good reload', call: (x) => x.configLoaded(true, true), suffix: 'config_reloads_total', labels: { result: 'success' }, expected: 1 },
    { name: 'the start-up load is not a reload', call: (x) => x.configLoaded(true, false), suffix: 'config_reloads_total', labels: {}, expected: 0 },
    { name: 'the start-up load sets the success flag', call: (x) => x.configLoaded(true, false), suffix: 'config_last_reload_successful', labels: {}, expected: 1 },
    { name: 'a certificate expiry', call: (x) => x.certificateExpiry('listener', new Date('2030-01-01T00:00:00Z')), suffix: 'certificate_expiry_timestamp_seconds', labels: { certificate: 'listener' }, expected: 1893456000 },
    { name: 'the connection limit', call: (x) => x.connectionLimit(9490), suffix: 'client_connections_limit', labels: {}, expected: 9490 },
  ];
  for (const { name, call, suffix, labels, expected } of calls) {
    test(name, async () => {
      const metrics = newMetrics();
      call(metrics);
      assert.equal(await value(metrics, suffix, labels), expected);
    });
  }

  test('a certificate series lives while a listener serves the file, and goes with the last one', async () => {
    const metrics = newMetrics();
    const series = async (): Promise<number[]> =>
      (await scrape(metrics)).filter((s) => s.name === m('certificate_expiry_timestamp_seconds') && s.labels.certificate === 'proxy:a.crt').map((s) => s.value);
    const ipv4 = metrics.trackCertificate('proxy:a.crt');
    const ipv6 = metrics.trackCertificate('proxy:a.crt');
    ipv4.expires(new Date('2030-01-01T00:00:00Z'));
    ipv6.expires(new Date('2031-01-01T00:00:00Z'));
    assert.deepEqual(await series(), [1924992000]);
    ipv4.release();
    ipv4.release();
    assert.deepEqual(await series(), [1924992000], 'released twice, yet the other listener still serves the file');
    ipv6.release();
    assert.deepEqual(await series(), []);
  });

  test('the time of the last good configuration is kept across a failed reload', async () => {
    const metrics = newMetrics();
    const before = Date.now() / 1000;
    metrics.configLoaded(true, false);
    const good = await value(metrics, 'config_last_reload_success_timestamp_seconds');
    assert.ok(good >= before - 1 && good <= Date.now() / 1000 + 1);
    await sleep(20);
    metrics.configLoaded(false, true);
    assert.equal(await value(metrics, 'config_last_reload_success_timestamp_seconds'), good);
  });
});
