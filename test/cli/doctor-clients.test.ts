// `doctor` asks the running gateway (its metrics listener, as the configuration names it) which sources get
// 407s they never answer — agents pointed at a listener whose authentication they cannot do — and warns
// per per-source rule; a source that answers its challenge is no warning, and without a gateway the check
// says it did not run.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../fixtures/cli.js';
import { startGateway } from '../fixtures/gateway.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const USER = { name: 'agent', password: 'correct horse battery staple' };
const HOST = 'ops.example.com:443';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface Report {
  readonly lines: readonly { host: string; check: string; mark: string; figure: string; hint: string }[];
  readonly clients: { readonly checked: boolean; readonly url?: string; readonly reason?: string };
}

test('doctor warns about a rule whose sources are asked for credentials and never send any', async (t) => {
  const dir = await tempDir(t);
  const metricsPort = await freePort();
  const config = join(dir, 'gateway.yaml');
  await writeFile(config, await basicAuthYaml([USER], {
    workers: 1,
    agents: [],
    metrics: { listen: `127.0.0.1:${metricsPort}` },
    clients: [{ name: 'arc-machines', from: '127.0.0.2/32', auth: 'basic' }],
  }), { mode: 0o600 });
  const gateway = await startGateway({ args: ['--config', config], metricsListen: null });
  t.after(() => gateway.stop());

  // An agent that cannot answer a 407 (127.0.0.2, under the rule), and one that answers it (127.0.0.3).
  assert.equal((await connectStatus(gateway.port, HOST, { localAddress: '127.0.0.2' })).status, 407);
  assert.equal((await connectStatus(gateway.port, HOST, { localAddress: '127.0.0.3' })).status, 407);
  const answered = await connectStatus(gateway.port, HOST, { localAddress: '127.0.0.3', headers: { 'Proxy-Authorization': basicCredentials(USER.name, USER.password) } });
  assert.equal(answered.status, 403, 'authenticated, then refused by the (empty) allowlist');

  const result = await runCli(['doctor', '--json', '--config', config], { timeoutMs: 60_000 });
  const report = JSON.parse(result.stdout) as Report;
  assert.equal(report.clients.checked, true, JSON.stringify(report));
  const warnings = report.lines.filter((line) => line.check === 'auth');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]?.mark, 'warn');
  assert.match(warnings[0]?.figure ?? '', /^1 sources of clients: rule "arc-machines" got 407 and never sent credentials/);
  assert.match(warnings[0]?.hint ?? '', /auth: anonymous for their range \(today 127\.0\.0\.2\/32\)/);
  // A warning alone does not fail doctor.
  assert.equal(result.code, 0, result.stderr);
});

test('without a running gateway the check says it did not run, and adds no line', async (t) => {
  const dir = await tempDir(t);
  const config = join(dir, 'gateway.yaml');
  await writeFile(config, `agents: []\nmetrics: {listen: "127.0.0.1:${await freePort()}"}\n`);
  const result = await runCli(['doctor', '--config', config], { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^sources asked for credentials: not checked \(doctor: cannot read http:\/\/127\.0\.0\.1:\d+\/metrics: ECONNREFUSED; is the gateway running\?\)$/m);
});
