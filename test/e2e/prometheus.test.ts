// A real Prometheus (Debian's `prometheus`) scrapes a running gateway — as shipped, with its default worker
// processes — while tunnels flow; the test asks Prometheus's HTTP API and finds the counters with the values
// the traffic implies. The same server loads deploy/prometheus/alerts.yml and evaluates every query of the
// Grafana dashboard, so what an operator imports works against what the gateway exports.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exchangeOnce, exchangeOverTunnel, startExchangeOrigin, type Exchange, type ExchangeOrigin } from '../fixtures/exchange.js';
import { REPO_ROOT, startGateway, type Gateway } from '../fixtures/gateway.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { requireCommand } from '../fixtures/tools.js';

const SCRAPE_SECONDS = 1;
const TUNNELS = 6;
const SEND = 1234;
const RECEIVE = 4321;
const ALERTS = join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.yml');
const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'oms-gateway.json');

interface Prometheus {
  readonly url: string;
  readonly process: ChildProcess;
  output(): string;
}

/** A free loopback port: Prometheus cannot be told to pick one and report it. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function getJson(url: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // /-/ready answers plain text.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function startPrometheus(dir: string, target: string): Promise<Prometheus> {
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      `  scrape_interval: ${SCRAPE_SECONDS}s`,
      `  evaluation_interval: ${SCRAPE_SECONDS}s`,
      'rule_files:',
      `  - ${JSON.stringify(ALERTS)}`,
      'scrape_configs:',
      '  - job_name: oms-gateway',
      '    static_configs:',
      `      - targets: [${JSON.stringify(target)}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let output = '';
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i += 1) {
    if (child.exitCode !== null) break;
    const ready = await getJson(`${url}/-/ready`).catch(() => ({ status: 0 }));
    if (ready.status === 200) return { url, process: child, output: () => output };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`prometheus did not become ready:\n${output}`);
}

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(prometheus: Prometheus, promql: string): Promise<VectorSample[]> {
  const { status, body } = await getJson(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const answer = body as { status?: string; error?: string; data?: { resultType: string; result: VectorSample[] } };
  assert.equal(status, 200, `${promql}: ${answer.error ?? String(status)}`);
  assert.equal(answer.status, 'success');
  assert.equal(answer.data?.resultType, 'vector', promql);
  return answer.data?.result ?? [];
}

/** The single value of `promql` once it equals `expected` (bounded wait over several scrapes). */
async function eventually(prometheus: Prometheus, promql: string, expected: number): Promise<void> {
  let last: number | undefined;
  for (let i = 0; i < 60; i += 1) {
    const [first] = await query(prometheus, promql);
    last = first === undefined ? undefined : Number(first.value[1]);
    if (last === expected) return;
    await sleep(500);
  }
  assert.fail(`${promql}: ${String(last)} in Prometheus, expected ${expected}`);
}

interface AlertRule {
  readonly name: string;
  readonly health: string;
  readonly lastError?: string;
}

async function alertRules(prometheus: Prometheus): Promise<AlertRule[]> {
  const { body } = await getJson(`${prometheus.url}/api/v1/rules?type=alert`);
  return (body as { data: { groups: { rules: AlertRule[] }[] } }).data.groups.flatMap((group) => group.rules);
}

describe('a real Prometheus scraping the gateway', () => {
  let dir: string;
  let origin: ExchangeOrigin;
  let gateway: Gateway;
  let prometheus: Prometheus;
  let startedAt: number;

  before(async () => {
    requireCommand('prometheus');
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-prometheus-'));
    origin = await startExchangeOrigin();
    startedAt = Date.now();
    gateway = await startGateway({
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
      // The exchange origin speaks no TLS, so tunnel inspection (which expects a ClientHello) is off.
      configYaml: 'inspection:\n  enabled: false\n',
      // Several worker processes start slowly on a loaded CI machine.
      startTimeoutMs: 60_000,
    });
    assert.ok(gateway.metricsBaseUrl !== undefined);
    prometheus = await startPrometheus(dir, new URL(gateway.metricsBaseUrl).host);
  });
  after(async () => {
    if (prometheus !== undefined && prometheus.process.exitCode === null) {
      prometheus.process.kill('SIGTERM');
      await once(prometheus.process, 'exit');
    }
    await gateway?.stop();
    await origin?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('the target is up and the gateway reports its version', async () => {
    await eventually(prometheus, 'up{job="oms-gateway"}', 1);
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const [info] = await query(prometheus, 'oms_gateway_build_info');
    assert.equal(info?.metric.version, pkg.version);
  });

  test('tunnels, bytes and refusals arrive in Prometheus with the values of the traffic; agents and refusals show within a minute', async () => {
    for (let i = 0; i < TUNNELS; i += 1) await exchangeOnce(gateway.port, `ws${i}.ods.opinsights.azure.com:443`, SEND, RECEIVE);
    for (const target of ['example.com:443', 'example.org:443', 'ws.ods.opinsights.azure.com:22']) await connectStatus(gateway.port, target);
    const held: Exchange[] = [];
    try {
      held.push(await exchangeOverTunnel(gateway.port, 'held1.ods.opinsights.azure.com:443', 4, 10, { localAddress: '127.0.0.1' }));
      held.push(await exchangeOverTunnel(gateway.port, 'held2.ods.opinsights.azure.com:443', 4, 10, { localAddress: '127.0.0.3' }));
      await eventually(prometheus, 'sum(oms_gateway_active_tunnels)', 2);
      await eventually(prometheus, 'sum(oms_gateway_active_client_connections)', 2);
      await eventually(prometheus, 'sum(oms_gateway_tunnels_total{outcome="relayed"})', TUNNELS + 2);
      await eventually(prometheus, 'sum(oms_gateway_rejections_total{reason="not-in-allowlist"})', 2);
      await eventually(prometheus, 'sum(oms_gateway_rejections_total{reason="port-not-allowed"})', 1);
      const seconds = (Date.now() - startedAt) / 1000;
      assert.ok(seconds < 60, `took ${seconds} s from the gateway's start to the refusals in Prometheus`);
    } finally {
      for (const exchange of held) await exchange.finish();
    }
    await eventually(prometheus, 'sum(oms_gateway_active_tunnels)', 0);
    await eventually(prometheus, 'sum(oms_gateway_active_client_connections)', 0);
    await eventually(prometheus, 'sum(oms_gateway_relayed_bytes_total{direction="from_client"})', TUNNELS * SEND + 2 * 4);
    await eventually(prometheus, 'sum(oms_gateway_relayed_bytes_total{direction="to_client"})', TUNNELS * RECEIVE + 2 * 10);
    await eventually(prometheus, 'sum(oms_gateway_entry_requests_total{entry="*.ods.opinsights.azure.com"})', TUNNELS + 2);
    await eventually(prometheus, 'sum(oms_gateway_tunnel_duration_seconds_count)', TUNNELS + 2);
    await eventually(prometheus, 'sum(oms_gateway_rejections_total)', 3);
  });

  test('the alert rules load and evaluate without errors', async () => {
    let rules = await alertRules(prometheus);
    for (let i = 0; i < 20 && rules.some((r) => r.health === 'unknown'); i += 1) {
      await sleep(500);
      rules = await alertRules(prometheus);
    }
    const shipped = (await readFile(ALERTS, 'utf8')).match(/^\s+- alert: /gm)?.length ?? 0;
    assert.equal(rules.length, shipped);
    for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? rule.health}`);
  });

  test('every query of the Grafana dashboard is valid PromQL, and the agents and refusals panels have data', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    let queries = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const promql = target.expr.replaceAll('$instance', '.*');
        const result = await query(prometheus, promql);
        queries += 1;
        if (panel.title === 'Connected agents' || panel.title === 'Refusals by reason') {
          assert.ok(result.length > 0, `${panel.title}: no data for ${promql}`);
        }
      }
    }
    assert.ok(queries >= 20, `${queries} queries`);
    const refusals = await query(prometheus, 'sum by (reason) (increase(oms_gateway_rejections_total[5m]))');
    assert.deepEqual(refusals.map((s) => s.metric.reason).sort(), ['not-in-allowlist', 'port-not-allowed']);
  });
});
