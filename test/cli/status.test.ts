// `oms-gateway status` finding the endpoint from the configuration, over HTTPS with the test CA, and its
// refusals of bad input; and `user add|list|remove --metrics` managing the scrapers of that endpoint.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCli, tempDir } from '../fixtures/cli.js';
import { startGateway } from '../fixtures/gateway.js';
import { testPki } from '../fixtures/pki.js';
import { connectStatus } from '../fixtures/raw-client.js';

describe('oms-gateway status', () => {
  test('without --metrics-url it reads the metrics listener of the configuration, here over HTTPS with the test CA', async (t) => {
    const pki = await testPki();
    const dir = await tempDir(t);
    const config = join(dir, 'gateway.yaml');
    const gateway = await startGateway({
      configYaml: `workers: 1\nmetrics:\n  tls: {cert: ${JSON.stringify(pki.certFile)}, key: ${JSON.stringify(pki.keyFile)}}\n`,
    });
    try {
      const base = gateway.metricsBaseUrl ?? '';
      assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
      const port = new URL(base).port;
      await writeFile(config, `metrics:\n  listen: 127.0.0.1:${port}\n  tls: {cert: ${JSON.stringify(pki.certFile)}, key: ${JSON.stringify(pki.keyFile)}}\n`);
      const result = await runCli(['status', '--config', config, '--ca', pki.caFile]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^oms-gateway \\S+ at https://127\\.0\\.0\\.1:${port}/metrics$`, 'm'));
      assert.match(result.stdout, /^ {2}state +ready$/m);

      const untrusted = await runCli(['status', '--config', config]);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /cannot read https:\/\/127\.0\.0\.1:\d+\/metrics: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT)/);
    } finally {
      await gateway.stop();
    }
  });

  test('bad input exits 2 and names the problem', async (t) => {
    const dir = await tempDir(t);
    const disabled = join(dir, 'disabled.yaml');
    await writeFile(disabled, 'metrics:\n  enabled: false\n');
    const cases: [string[], RegExp][] = [
      [['status', '--metrics-url', 'not a url'], /--metrics-url: expected a URL such as http:\/\/127\.0\.0\.1:9464\/metrics/],
      [['status', '--metrics-url', 'ftp://127.0.0.1/metrics'], /--metrics-url: expected an http:\/\/ or https:\/\/ URL/],
      [['status', '--config', disabled], /disables metrics \(metrics\.enabled: false\); give --metrics-url/],
      [['status', '--ca', join(dir, 'missing.pem'), '--metrics-url', 'http://127.0.0.1:1/metrics'], /--ca: cannot read .*missing\.pem \(ENOENT\)/],
      [['status', 'extra'], /unexpected argument "extra"/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
  });
});

describe('oms-gateway user --metrics', () => {
  test('add, list and remove scrapers under metrics.users, leaving the proxy users and auth mode alone', async (t) => {
    const dir = await tempDir(t);
    const config = join(dir, 'gateway.yaml');
    await writeFile(config, '# the operator\'s comment\nauth:\n  mode: anonymous\n');
    const added = await runCli(['user', 'add', 'prometheus', '--metrics', '--config', config], { input: 'scrape-secret-1\n' });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stderr, '', 'no proxy-user warnings for a scraper');
    const text = await readFile(config, 'utf8');
    assert.match(text, /^# the operator's comment$/m);
    assert.ok(!text.includes('scrape-secret-1'));
    const file = parse(text) as { auth: { mode: string; users?: unknown }; metrics: { users: { name: string; passwordHash: string }[] } };
    assert.equal(file.auth.mode, 'anonymous');
    assert.equal(file.auth.users, undefined);
    assert.deepEqual(file.metrics.users.map((u) => u.name), ['prometheus']);
    assert.match(file.metrics.users[0]?.passwordHash ?? '', /^scrypt\$/);
    assert.equal((await stat(config)).mode & 0o777, 0o600, 'a file holding password hashes is private');

    const listed = await runCli(['user', 'list', '--metrics', '--config', config, '--json']);
    assert.deepEqual(JSON.parse(listed.stdout), { users: ['prometheus'] });
    const proxyUsers = await runCli(['user', 'list', '--config', config, '--json']);
    assert.deepEqual((JSON.parse(proxyUsers.stdout) as { users: string[] }).users, []);

    const removed = await runCli(['user', 'remove', 'prometheus', '--metrics', '--config', config]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual((parse(await readFile(config, 'utf8')) as { metrics: { users: unknown[] } }).metrics.users, []);
    const missing = await runCli(['user', 'remove', 'prometheus', '--metrics', '--config', config]);
    assert.equal(missing.code, 1);
  });
});

describe('oms-gateway status from the state file', () => {
  test('report mode is said loudly with its would-deny count; auth, listeners, file and generation are shown', async (t) => {
    const dir = await tempDir(t);
    const pidFile = join(dir, 'gateway.pid');
    const gateway = await startGateway({ configYaml: `workers: 1\npidFile: ${pidFile}\npolicy:\n  mode: report\nresolve: ["denied.example.net=127.0.0.1:1"]\n` });
    t.after(() => gateway.stop('SIGKILL'));
    // Outside the allowlist: relayed in report mode (the mapped port refuses) and counted as would-deny.
    await connectStatus(gateway.port, 'denied.example.net:443');
    const config = gateway.configFile ?? '';
    const result = await runCli(['status', '--config', config, '--metrics-url', `${gateway.metricsBaseUrl ?? ''}/metrics`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ {2}policy mode +REPORT — NOT ENFORCING the allowlist: 1 tunnels and requests relayed that enforce mode would refuse$/m);
    assert.match(result.stdout, /^ {2}auth +anonymous$/m);
    assert.match(result.stdout, new RegExp(`^ {2}listeners +127\\.0\\.0\\.1:${gateway.port}$`, 'm'));
    assert.match(result.stdout, new RegExp(`^ {2}configuration +${config.replace(/[.]/g, '\\.')}, generation 1$`, 'm'));
    assert.match(result.stdout, /^ {2}last reload +none since start$/m);
    assert.match(result.stdout, new RegExp(`^ {2}pid +${gateway.pid} since `, 'm'));
  });

  test('a broken configuration file: status still reads the gateway through the pid file and says the file is invalid', async (t) => {
    const dir = await tempDir(t);
    const pidFile = join(dir, 'gateway.pid');
    const gateway = await startGateway({ configYaml: `workers: 1\npidFile: ${pidFile}\n` });
    t.after(() => gateway.stop('SIGKILL'));
    const config = gateway.configFile ?? '';
    const since = gateway.records.length;
    await writeFile(config, `workers: 1\npidFile: ${pidFile}\ntimeouts:\n  connectSeconds: -1\n`);
    process.kill(gateway.pid, 'SIGHUP');
    await gateway.waitForRecord((r) => r.event === 'config-invalid', 10_000, since);

    // The file names no reachable metrics listener (the gateway was started with --metrics-listen), so the
    // state file is the only source: the command must not need the file to load.
    const result = await runCli(['status', '--config', config]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ {2}state +running \(metrics not read: /m);
    assert.match(result.stdout, /^ {2}policy mode +enforce$/m);
    assert.match(result.stdout, /^ {2}last reload +INVALID at \S+ \(SIGHUP\): config-invalid — the previous configuration is in force$/m);
    assert.match(result.stdout, /^ {2}configuration file +.* is INVALID now \(1 problem\): a reload would be refused/m);
    const json = await runCli(['status', '--config', config, '--json']);
    const answer = JSON.parse(json.stdout) as { pid: number; configFileValid: boolean; generation: number; lastReload: { outcome: string } };
    assert.deepEqual([answer.pid, answer.configFileValid, answer.generation, answer.lastReload.outcome], [gateway.pid, false, 1, 'invalid']);

    await gateway.stop();
    // The fixture removes the file with the gateway: --pid-file says where to look.
    const stopped = await runCli(['status', '--pid-file', pidFile, '--metrics-url', `${gateway.metricsBaseUrl ?? ''}/metrics`]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /no gateway is running with pid file/);
  });
});
