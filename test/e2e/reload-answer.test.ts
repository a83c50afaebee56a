// Issue 18: a reload is a transaction with an answer. The real CLI edits the file of a real running gateway
// and waits for the gateway's result: metrics users are applied (added, password changed, removed), a
// reload the gateway cannot apply fails the command with the reason, keys read only at start are reported
// as needing a restart and keep their running value, and keys a flag of `start` sets are reported as pinned.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { runCli, tempDir } from '../fixtures/cli.js';
import { startGateway, type Gateway, type GatewayOptions } from '../fixtures/gateway.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { hangBound } from '../fixtures/patience.js';

async function start(t: TestContext, settings: Record<string, unknown>, options: GatewayOptions = {}): Promise<{ gateway: Gateway; config: string; pidFile: string }> {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'gateway.pid');
  const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: stringify({ workers: 1, pidFile, ...settings }), ...options });
  t.after(() => gateway.stop('SIGKILL'));
  return { gateway, config: gateway.configFile ?? '', pidFile };
}

/** The status of GET /metrics with these Basic credentials (none when undefined). */
function scrape(base: string, user?: string, password?: string): Promise<number> {
  const headers: Record<string, string> = user === undefined ? {} : { Authorization: `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}` };
  return new Promise((resolve, reject) => {
    get(`${base}/metrics`, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

const PROM_PASSWORD = 'scrape-password-one-1';
const PROM_NEW_PASSWORD = 'scrape-password-two-2';
const GRAFANA_PASSWORD = 'grafana-password-3333';

describe('metrics.users apply on reload', () => {
  test('user add --metrics, a changed password and user remove --metrics take effect on the running /metrics', async (t) => {
    const { gateway, config } = await start(t, {});
    const base = gateway.metricsBaseUrl ?? '';
    assert.equal(await scrape(base), 200, 'no scraper configured yet');

    const added = await runCli(['user', 'add', 'prom', '--metrics', '--config', config], { input: `${PROM_PASSWORD}\n`, timeoutMs: 60_000 });
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /applied it \(generation 2\): metrics\.users/);
    assert.equal(await scrape(base), 401, 'after user add --metrics, /metrics still answered without credentials');
    assert.equal(await scrape(base, 'prom', PROM_PASSWORD), 200);

    const second = await runCli(['user', 'add', 'grafana', '--metrics', '--config', config], { input: `${GRAFANA_PASSWORD}\n`, timeoutMs: 60_000 });
    assert.equal(second.code, 0, second.stderr);
    const changed = await runCli(['user', 'add', 'prom', '--metrics', '--config', config], { input: `${PROM_NEW_PASSWORD}\n`, timeoutMs: 60_000 });
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(await scrape(base, 'prom', PROM_PASSWORD), 401, 'the old password still works');
    assert.equal(await scrape(base, 'prom', PROM_NEW_PASSWORD), 200, 'the new password does not');
    const record = gateway.records.filter((r) => r.event === 'config-reloaded').at(-1);
    assert.deepEqual((record?.changes as { key: string; passwordChanged?: string[] }[]).find((c) => c.passwordChanged !== undefined), { key: 'metrics.users', passwordChanged: ['prom'] });

    const removed = await runCli(['user', 'remove', 'prom', '--metrics', '--config', config]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await scrape(base, 'prom', PROM_NEW_PASSWORD), 401, 'a removed scraper is still let in');
    assert.equal(await scrape(base, 'grafana', GRAFANA_PASSWORD), 200);
    const log = JSON.stringify(gateway.records);
    for (const secret of [PROM_PASSWORD, PROM_NEW_PASSWORD, GRAFANA_PASSWORD, 'scrypt$']) assert.ok(!log.includes(secret), `${secret} reached the log`);
  });
});

describe('a reload that cannot apply fails its command', () => {
  test('config set listen with the metrics address: exit 1 with EADDRINUSE, the gateway keeps its listener', async (t) => {
    const { gateway, config } = await start(t, { listen: ['127.0.0.1:0'] }, { listen: [] });
    const metrics = new URL(gateway.metricsBaseUrl ?? '').host;
    const result = await runCli(['config', 'set', 'listen', `[127.0.0.1:0, "${metrics}"]`, '--config', config]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /was saved, but the running gateway \(pid \d+\) could not apply the file and keeps running generation 1 .*EADDRINUSE/);
    assert.match(await readFile(config, 'utf8'), new RegExp(metrics.replace(/\./g, '\\.')));
    assert.equal((await connectStatus(gateway.port, 'example.com:443')).status, 403, 'the running listener went away');

    const retried = await runCli(['reload', '--config', config, '--json']);
    assert.equal(retried.code, 1);
    const answer = JSON.parse(retried.stdout) as { reload: { status: string; result: { outcome: string; reason: string; generation: number } } };
    assert.equal(answer.reload.status, 'reloaded');
    assert.deepEqual([answer.reload.result.outcome, answer.reload.result.reason, answer.reload.result.generation], ['failed', 'EADDRINUSE', 1]);
  });

  test('a reload with nothing to change succeeds and says it applied nothing', async (t) => {
    const { gateway, config } = await start(t, {});
    const result = await runCli(['reload', '--config', config]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`the running gateway \\(pid ${gateway.pid}\\) reloaded \\(generation 2\\) and applied nothing`));
  });
});

describe('keys read only at start', () => {
  test('limits.maxHeaderBytes: reported as needing a restart, the running limit stays', async (t) => {
    const { gateway, config } = await start(t, { limits: { maxHeaderBytes: 4096 } });
    const big = { 'X-Padding': 'a'.repeat(8000) };
    assert.equal((await connectStatus(gateway.port, 'example.com:443', { headers: big })).status, 431);
    const result = await runCli(['config', 'set', 'limits.maxHeaderBytes', '65536', '--config', config]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /reloaded \(generation 2\) and applied nothing\nneeds a restart to take effect, the gateway keeps running the old value until then: limits\.maxHeaderBytes \(4096 → 65536\)/);
    const record = gateway.records.filter((r) => r.event === 'config-reloaded').at(-1);
    assert.deepEqual(record?.restartRequired, [{ key: 'limits.maxHeaderBytes', from: 4096, to: 65536 }]);
    assert.deepEqual(record?.changes, []);
    assert.match(String(record?.msg), /needs a restart, the running value is kept: limits\.maxHeaderBytes/);
    assert.equal((await connectStatus(gateway.port, 'example.com:443', { headers: big })).status, 431, 'the new limit was claimed to wait for a restart but applies');
  });

  test('workers on a one-process gateway: needs a restart; a key applied in the same reload still applies', async (t) => {
    const { gateway, config, pidFile } = await start(t, { allowedHosts: ['kept.example.com'] });
    const text = (await readFile(config, 'utf8')).replace('workers: 1', 'workers: 2').replace('kept.example.com', 'added.example.com');
    await writeFile(config, text);
    const result = await runCli(['reload', '--config', config]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /applied it \(generation 2\): policy\.allowlist\nneeds a restart .*: workers \(1 → 2\)/);
    const state = JSON.parse(await readFile(pidFile.replace(/\.pid$/, '.state.json'), 'utf8')) as { generation: number; workers: number; lastReload: { restartRequired: { key: string }[] } };
    assert.equal(state.generation, 2);
    assert.equal(state.workers, 1);
    assert.deepEqual(state.lastReload.restartRequired.map((c) => c.key), ['workers']);
    assert.equal(gateway.records.filter((r) => r.event === 'service-started').length, 1);
  });
});

describe('keys a flag of start sets', () => {
  test('config set agents on a gateway started with --agents: exit 1, the flag is named', async (t) => {
    const { gateway, config } = await start(t, { agents: ['ama'] }, { args: ['--agents', 'ama'] });
    const result = await runCli(['config', 'set', 'agents', '[legacy]', '--config', config]);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /reloaded \(generation 2\) and applied nothing\nnot applied: policy\.agents is set by --agents on the command line of start/);
    const record = gateway.records.filter((r) => r.event === 'config-reloaded').at(-1);
    assert.deepEqual((record?.pinned as { key: string; flag: string }[]).map(({ key, flag }) => [key, flag]), [['policy.agents', '--agents']]);
    assert.deepEqual(record?.changes, []);
  });
});

describe('with worker processes the answer covers every worker', () => {
  test('workers: 2 — an applied edit reaches every worker, a failed one fails the command and changes none', { timeout: hangBound(120_000) }, async (t) => {
    const { gateway, config, pidFile } = await start(t, { workers: 2, listen: ['127.0.0.1:0'], defaultHosts: false, resolve: ['added.example.com=127.0.0.1:1'] }, { listen: [] });
    const added = await runCli(['allowed-host', 'add', 'added.example.com', '--config', config]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /applied it \(generation 2\): policy\.allowlist/);
    const reloaded = gateway.records.filter((r) => r.event === 'config-reloaded');
    assert.equal(reloaded.length, 1, 'the reload was logged once for the gateway');

    const metrics = new URL(gateway.metricsBaseUrl ?? '').host;
    const failed = await runCli(['config', 'set', 'listen', `[127.0.0.1:0, "${metrics}"]`, '--config', config]);
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stderr, /keeps running generation 2 .*EADDRINUSE/);
    const state = JSON.parse(await readFile(pidFile.replace(/\.pid$/, '.state.json'), 'utf8')) as { generation: number; workers: number; listeners: string[]; lastReload: { outcome: string } };
    assert.deepEqual([state.generation, state.workers, state.lastReload.outcome, state.listeners.length], [2, 2, 'failed', 1]);
    // Every worker still serves the generation-2 policy (connections are dealt round-robin); the mapped
    // address refuses, so an allowed CONNECT gets 502 where a denied one gets 403.
    for (let i = 0; i < 4; i++) assert.equal((await connectStatus(gateway.port, 'added.example.com:443')).status, 502);
  });
});
