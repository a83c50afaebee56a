// The metrics of a running gateway against the traffic that produced them: N tunnels → counter N, bytes to
// the byte, refusals by reason, live gauges while tunnels are held open, a real scrape that `promtool
// check metrics` accepts, and `oms-gateway status` reading the same endpoint.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { total, type Sample } from '../../src/observability/exposition.js';
import { runCli } from '../fixtures/cli.js';
import { exchangeOnce, exchangeOverTunnel, scrapeMetrics, startExchangeOrigin, type ExchangeOrigin } from '../fixtures/exchange.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { connectStatus, rawExchange } from '../fixtures/raw-client.js';
import { requireCommand } from '../fixtures/tools.js';

const WS = ['0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a', '11111111-2222-4333-8444-555555555555', 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'];
const ODS = '*.ods.opinsights.azure.com';
const EXACT = 'exact.example.net';
const CLOSED = 'closed.example.net';

/** A loopback port with nothing listening: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const v = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number =>
  total(samples, `oms_gateway_${name}`, labels);

describe('counters against the traffic that produced them', () => {
  let origin: ExchangeOrigin;
  let gateway: Gateway;
  let metricsUrl: string;

  /** What the test sent, per tunnel: [target, bytes from the client, bytes back]. */
  const relayed: [target: string, entry: string, send: number, receive: number][] = [
    ...[0, 1, 2, 3, 4].map((i): [string, string, number, number] => [`${WS[i % 3]}.ods.opinsights.azure.com:443`, ODS, 1000 + i, 2000 + 7 * i]),
    [`${EXACT}:443`, EXACT, 100, 50],
    [`${EXACT}:443`, EXACT, 4, 0],
    ['mapped-by-name.blob.core.windows.net:443', '*.blob.core.windows.net', 300, 400],
  ];

  before(async () => {
    origin = await startExchangeOrigin();
    const dead = await closedPort();
    gateway = await startGateway({
      args: [
        '--resolve', `${ODS}=127.0.0.1:${origin.port}`,
        '--resolve', `${EXACT}=127.0.0.1:${origin.port}`,
        // A name, so the gateway resolves it: one DNS look-up.
        '--resolve', `*.blob.core.windows.net=localhost:${origin.port}`,
        '--allow-host', EXACT,
        '--allow-host', CLOSED,
        '--resolve', `${CLOSED}=127.0.0.1:${dead}`,
      ],
      // The exchange origin speaks no TLS, so tunnel inspection (which expects a ClientHello) is off.
      // One worker process: the workspace cap and the distinct-client gauge are per process.
      // deniedAddresses: [] because the name `localhost` maps to is held to the address rules (issue 16).
      configYaml: 'workers: 1\ndeniedAddresses: []\ninspection:\n  enabled: false\nmetrics:\n  workspaceLabels: true\n  maxWorkspaces: 2\n',
    });
    assert.ok(gateway.metricsBaseUrl !== undefined, 'the gateway logged no metrics-listening record');
    metricsUrl = gateway.metricsBaseUrl;

    for (const [target, , send, receive] of relayed) await exchangeOnce(gateway.port, target, send, receive);
    const refusals: [string, number][] = [['example.com:443', 403], ['example.com:443', 403], ['example.com:443', 403], [`${WS[0]}.ods.opinsights.azure.com:8443`, 403], [`${WS[1]}.ods.opinsights.azure.com:8443`, 403], [`${CLOSED}:443`, 502]];
    for (const [target, status] of refusals) assert.equal((await connectStatus(gateway.port, target)).status, status, target);
    const badTarget = await rawExchange(gateway.port, 'CONNECT [not-an-ipv6]:443 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(badTarget.text, /^HTTP\/1\.1 400 /);
    const originForm = await rawExchange(gateway.port, 'GET / HTTP/1.1\r\nHost: gateway\r\n\r\n');
    assert.match(originForm.text, /^HTTP\/1\.1 400 /);
    // Tunnel-closed records come from the gateway's side of the close; wait for all of them.
    await gateway.waitForRecord(() => gateway.records.filter((r) => r.event === 'tunnel-closed').length === relayed.length, 10_000);
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
  });

  test('tunnels, their lifetimes and their upstream connects: one each per relayed tunnel', async () => {
    const { samples } = await scrapeMetrics(metricsUrl);
    assert.equal(v(samples, 'tunnels_total', { outcome: 'relayed', reason: 'none' }), relayed.length);
    assert.equal(v(samples, 'tunnel_duration_seconds_count'), relayed.length);
    assert.equal(v(samples, 'tunnel_duration_seconds_count', { closed_by: 'client' }), relayed.length);
    assert.equal(v(samples, 'upstream_connect_duration_seconds_count'), relayed.length);
    assert.equal(v(samples, 'active_tunnels'), 0);
    assert.equal(v(samples, 'requests_total', { outcome: 'relayed' }), 0);
  });

  test('bytes each way, in all and per allowlist entry, exactly as sent', async () => {
    const { samples } = await scrapeMetrics(metricsUrl);
    const sum = (pick: (row: (typeof relayed)[number]) => number, entry?: string): number =>
      relayed.filter((row) => entry === undefined || row[1] === entry).reduce((n, row) => n + pick(row), 0);
    assert.equal(v(samples, 'relayed_bytes_total', { direction: 'from_client' }), sum((r) => r[2]));
    assert.equal(v(samples, 'relayed_bytes_total', { direction: 'to_client' }), sum((r) => r[3]));
    for (const entry of [ODS, EXACT, '*.blob.core.windows.net']) {
      assert.equal(v(samples, 'entry_requests_total', { entry }), relayed.filter((r) => r[1] === entry).length, entry);
      assert.equal(v(samples, 'entry_relayed_bytes_total', { entry, direction: 'from_client' }), sum((r) => r[2], entry), entry);
      assert.equal(v(samples, 'entry_relayed_bytes_total', { entry, direction: 'to_client' }), sum((r) => r[3], entry), entry);
    }
  });

  test('per-workspace traffic, capped at two workspaces: the third is counted as "other"', async () => {
    const { samples } = await scrapeMetrics(metricsUrl);
    const expected: [string, number[]][] = [[WS[0] ?? '', [0, 3]], [WS[1] ?? '', [1, 4]], ['other', [2]]];
    for (const [workspace, tunnels] of expected) {
      assert.equal(v(samples, 'workspace_requests_total', { workspace }), tunnels.length, workspace);
      const bytes = tunnels.reduce((n, i) => n + 1000 + i, 0);
      assert.equal(v(samples, 'workspace_relayed_bytes_total', { workspace, direction: 'from_client' }), bytes, workspace);
    }
    assert.equal(samples.filter((s) => s.name === 'oms_gateway_workspace_requests_total').length, 3);
    assert.ok(!samples.some((s) => s.name.startsWith('oms_gateway_') && Object.values(s.labels).some((l) => l.includes('example.com'))), 'a raw host name became a label');
  });

  test('refusals by reason, in the Windows rejection counter and in the tunnel and request families', async () => {
    const { samples } = await scrapeMetrics(metricsUrl);
    const expected: [reason: string, family: string, count: number][] = [
      ['not-in-allowlist', 'tunnels_total', 3],
      ['port-not-allowed', 'tunnels_total', 2],
      ['bad-target', 'tunnels_total', 1],
      ['not-a-proxy-request', 'requests_total', 1],
    ];
    for (const [reason, family, count] of expected) {
      assert.equal(v(samples, 'rejections_total', { reason }), count, reason);
      assert.equal(v(samples, family, { outcome: 'refused', reason }), count, reason);
    }
    assert.equal(v(samples, 'rejections_total'), 7);
    assert.equal(v(samples, 'auth_failures_total'), 0);
  });

  test('the unreachable target: one failed tunnel, one upstream error of its kind, one error', async () => {
    const { samples } = await scrapeMetrics(metricsUrl);
    assert.equal(v(samples, 'tunnels_total', { outcome: 'failed', reason: 'connect-refused' }), 1);
    assert.equal(v(samples, 'upstream_errors_total', { kind: 'connect-refused' }), 1);
    assert.equal(v(samples, 'upstream_errors_total'), 1);
    assert.equal(v(samples, 'errors_total', { kind: 'upstream' }), 1);
    assert.equal(v(samples, 'errors_total', { kind: 'internal' }), 0);
  });

  test('one DNS look-up: the only target mapped to a name rather than an address', async () => {
    const { samples } = await scrapeMetrics(metricsUrl);
    assert.equal(v(samples, 'dns_lookups_total', { result: 'ok' }), 1);
    assert.equal(v(samples, 'dns_lookups_total'), 1);
  });

  test('open tunnels: gauges and bytes move while they are open, and return when they close', async () => {
    const held = [
      await exchangeOverTunnel(gateway.port, `${WS[0]}.ods.opinsights.azure.com:443`, 5000, 6000, { localAddress: '127.0.0.1' }),
      await exchangeOverTunnel(gateway.port, `${WS[0]}.ods.opinsights.azure.com:443`, 5000, 6000, { localAddress: '127.0.0.2' }),
      await exchangeOverTunnel(gateway.port, `${EXACT}:443`, 5000, 6000, { localAddress: '127.0.0.2' }),
    ];
    const before = (await scrapeMetrics(metricsUrl)).samples;
    try {
      assert.equal(v(before, 'active_tunnels'), 3);
      assert.equal(v(before, 'active_client_connections'), 3);
      assert.equal(v(before, 'connected_clients'), 2);
      const closedBytes = relayed.reduce((n, r) => n + r[2], 0);
      assert.equal(v(before, 'relayed_bytes_total', { direction: 'from_client' }), closedBytes + 15_000, 'open tunnels count before they close');
    } finally {
      for (const exchange of held) await exchange.finish();
    }
    let after = (await scrapeMetrics(metricsUrl)).samples;
    for (let i = 0; i < 100 && (v(after, 'active_tunnels') !== 0 || v(after, 'active_client_connections') !== 0); i += 1) {
      await sleep(20);
      after = (await scrapeMetrics(metricsUrl)).samples;
    }
    assert.equal(v(after, 'active_tunnels'), 0);
    assert.equal(v(after, 'active_client_connections'), 0);
    assert.equal(v(after, 'connected_clients'), 0);
    assert.equal(v(after, 'relayed_bytes_total', { direction: 'to_client' }), relayed.reduce((n, r) => n + r[3], 0) + 18_000);
  });

  test('promtool check metrics accepts a real scrape', async () => {
    requireCommand('promtool');
    const { text } = await scrapeMetrics(metricsUrl);
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stdin.end(text);
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0, output);
    assert.equal(output.trim(), '', `promtool found problems:\n${output}`);
  });

  test('oms-gateway status reads the same figures', async () => {
    const result = await runCli(['status', '--metrics-url', `${metricsUrl}/metrics`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^oms-gateway \d+\.\d+\.\d+ at http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    assert.match(result.stdout, /^ {2}state +ready$/m);
    assert.match(result.stdout, /^ {2}uptime +\d+s$/m);
    assert.match(result.stdout, /^ {2}connected clients +0 \(0 connections\)$/m);
    assert.match(result.stdout, new RegExp(`^ {2}tunnels +${relayed.length + 3} relayed, 6 refused, 1 failed$`, 'm'));
    assert.match(result.stdout, /^ {2}top rejections +not-in-allowlist 3, port-not-allowed 2, bad-target 1, not-a-proxy-request 1$/m);
    assert.match(result.stdout, /^ {2}upstream errors +connect-refused 1$/m);

    const json = await runCli(['status', '--metrics-url', `${metricsUrl}/metrics`, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout) as { state: string; tunnels: unknown; bytesFromClients: number; rejections: number };
    assert.equal(summary.state, 'ready');
    assert.deepEqual(summary.tunnels, { relayed: relayed.length + 3, refused: 6, failed: 1 });
    assert.equal(summary.bytesFromClients, relayed.reduce((n, r) => n + r[2], 0) + 15_000);
    assert.equal(summary.rejections, 7);
  });
});

describe('the metrics listener at start-up', () => {
  test('a metrics port already in use stops the start: exit 1 and the address in the message', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      await assert.rejects(startGateway({ metricsListen: `127.0.0.1:${port}` }), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /exited with code 1/);
        assert.match(err.message, new RegExp(`cannot listen for metrics on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  test('metrics.enabled: false opens no metrics listener', async () => {
    const gateway = await startGateway({ configYaml: 'metrics:\n  enabled: false\n', metricsListen: null });
    try {
      assert.equal(gateway.metricsBaseUrl, undefined);
      assert.ok(!gateway.records.some((r) => r.event === 'metrics-listening'));
    } finally {
      await gateway.stop();
    }
  });

  test('status says how to proceed when nothing answers', async () => {
    const result = await runCli(['status', '--metrics-url', `http://127.0.0.1:${await closedPort()}/metrics`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read http:\/\/127\.0\.0\.1:\d+\/metrics: ECONNREFUSED; is the gateway running\?/);
  });
});
