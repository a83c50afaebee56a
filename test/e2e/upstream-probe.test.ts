// The upstream probe (upstreamProbe): the gateway asks the AMA control service's /ping through its own route
// and says on /readyz and in its metrics whether Azure is reachable, so a load balancer and an alert see an
// upstream outage before the agents do. The control service here is a local TLS origin reached through a
// resolve mapping; the relay case sends the probe to a parent proxy that is not there.

import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { probe, scrapeMetrics } from '../fixtures/exchange.js';
import { startGateway } from '../fixtures/gateway.js';
import { testPki } from '../fixtures/pki.js';
import { hangBound } from '../fixtures/patience.js';

const PROBE_HOST = 'ping.ods.opinsights.azure.com';

interface ControlService {
  readonly port: number;
  /** Requests to /ping seen, with the user agent that sent them. */
  readonly pings: string[];
  answer: { status: number; body: string };
  close(): Promise<void>;
}

async function startControlService(): Promise<ControlService> {
  const pki = await testPki();
  const service: ControlService = {
    port: 0,
    pings: [],
    answer: { status: 200, body: 'Healthy' },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    if (req.url === '/ping') service.pings.push(String(req.headers['user-agent']));
    res.writeHead(service.answer.status, { 'content-type': 'text/plain' }).end(service.answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return Object.assign(service, { port: address.port });
}

type Readiness = Awaited<ReturnType<typeof probe>>;

/** Polls /readyz until `done` holds (the probe runs every 5 s at most), for at most 30 s. */
async function readinessUntil(base: string, done: (answer: Readiness) => boolean): Promise<Readiness> {
  let answer = await probe(base, '/readyz');
  for (let i = 0; i < 300 && !done(answer); i += 1) {
    await sleep(100);
    answer = await probe(base, '/readyz');
  }
  return answer;
}

function upstreamOf(answer: Readiness): Record<string, unknown> | undefined {
  return (answer.body.checks as Record<string, Record<string, unknown>> | undefined)?.upstream;
}

function sampleValue(samples: Awaited<ReturnType<typeof scrapeMetrics>>['samples'], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('with workers, /readyz follows the control service: ready while it answers Healthy, 503 after it fails, ready again', { timeout: hangBound(120_000) }, async () => {
  const pki = await testPki();
  const service = await startControlService();
  const gateway = await startGateway({
    args: ['--resolve', `${PROBE_HOST}=127.0.0.1:${service.port}`],
    configYaml: [
      'workers: 2',
      'upstreamProbe:',
      '  enabled: true',
      `  url: https://${PROBE_HOST}/ping`,
      '  intervalSeconds: 5',
      '  failuresBeforeUnready: 1',
      `  caFile: ${pki.caFile}`,
    ].join('\n'),
    startTimeoutMs: 60_000,
  });
  try {
    const base = gateway.metricsBaseUrl;
    assert.ok(base !== undefined);
    const healthy = await readinessUntil(base, (a) => upstreamOf(a)?.lastCheckedAt !== undefined);
    assert.equal(healthy.status, 200, JSON.stringify(healthy.body));
    assert.equal(upstreamOf(healthy)?.ok, true);
    assert.equal(upstreamOf(healthy)?.url, `https://${PROBE_HOST}/ping`);
    assert.ok(service.pings.length >= 1 && service.pings.every((agent) => agent === 'oms-gateway upstream probe'));
    const up = await scrapeMetrics(base);
    const url = `https://${PROBE_HOST}/ping`;
    assert.equal(sampleValue(up.samples, 'oms_gateway_upstream_up', { url }), 1);
    assert.ok((sampleValue(up.samples, 'oms_gateway_upstream_probes_total', { url, result: 'ok' }) ?? 0) >= 1);

    service.answer = { status: 503, body: 'Unhealthy' };
    const down = await readinessUntil(base, (a) => a.status === 503);
    assert.equal(down.status, 503);
    assert.equal(down.body.status, 'upstream-unreachable');
    assert.equal(upstreamOf(down)?.ok, false);
    assert.equal(upstreamOf(down)?.failure, 'bad-status');
    const failing = await scrapeMetrics(base);
    assert.equal(sampleValue(failing.samples, 'oms_gateway_upstream_up', { url }), 0);
    assert.ok((sampleValue(failing.samples, 'oms_gateway_upstream_probes_total', { url, result: 'bad-status' }) ?? 0) >= 1);
    // Liveness is the process's own health: an upstream outage is no reason to restart the gateway.
    assert.equal((await probe(base, '/healthz')).status, 200);

    service.answer = { status: 200, body: 'Healthy' };
    const back = await readinessUntil(base, (a) => a.status === 200);
    assert.equal(back.status, 200);
    assert.equal(upstreamOf(back)?.ok, true);
  } finally {
    await gateway.stop();
    await service.close();
  }
});

test('the probe goes through the relay proxy like the tunnels; failuresBeforeUnready 0 reports without leaving rotation', { timeout: hangBound(60_000) }, async () => {
  // A port that nothing listens on: the relay is down.
  const closed = createTcpServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const address = closed.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise((resolve) => closed.close(resolve));
  const gateway = await startGateway({
    configYaml: [
      'workers: 1',
      `relayProxy:\n  url: http://127.0.0.1:${address.port}`,
      'upstreamProbe:',
      '  enabled: true',
      '  failuresBeforeUnready: 0',
    ].join('\n'),
  });
  try {
    const base = gateway.metricsBaseUrl;
    assert.ok(base !== undefined);
    const answer = await readinessUntil(base, (a) => upstreamOf(a)?.lastCheckedAt !== undefined);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(upstreamOf(answer)?.ok, false);
    assert.equal(upstreamOf(answer)?.failure, 'connect-failed');
    // The default URL: AMA's own health check in the public cloud.
    assert.equal(upstreamOf(answer)?.url, 'https://global.handler.control.monitor.azure.com/ping');
    const scrape = await scrapeMetrics(base);
    assert.equal(sampleValue(scrape.samples, 'oms_gateway_upstream_up', { url: 'https://global.handler.control.monitor.azure.com/ping' }), 0);
  } finally {
    await gateway.stop();
  }
});

test('switched off (the default), /readyz has no upstream check and nothing is probed', async () => {
  const service = await startControlService();
  const gateway = await startGateway({ args: ['--resolve', `global.handler.control.monitor.azure.com=127.0.0.1:${service.port}`], configYaml: 'workers: 1\n' });
  try {
    const base = gateway.metricsBaseUrl;
    assert.ok(base !== undefined);
    const answer = await probe(base, '/readyz');
    assert.equal(answer.status, 200);
    assert.equal(upstreamOf(answer), undefined);
    assert.equal(service.pings.length, 0);
    const scrape = await scrapeMetrics(base);
    assert.equal(scrape.samples.some((s) => s.name === 'oms_gateway_upstream_up'), false);
  } finally {
    await gateway.stop();
    await service.close();
  }
});
