// Kubernetes monitoring agents (Container insights, managed Prometheus) take an `https://` proxy with the
// proxy's CA certificate (AKS `--http-proxy-config` trustedCa): here curl plays that client, with
// `--proxy-cacert` for the gateway's own certificate from `oms-gateway cert generate`, against a gateway
// whose only preset is `kubernetes`. The data endpoint tunnels; a host outside the preset is refused.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../fixtures/cli.js';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

const WORKSPACE_HOST = '0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a.ods.opinsights.azure.com';
const OUTSIDE_PRESET = 'x.agentsvc.azure-automation.net';

describe('a Kubernetes-style client through the https:// listener with the CA certificate', () => {
  let dir: string;
  let origin: TlsOrigin;
  let gateway: Gateway;
  let pki: TestPki;
  let proxyCa: string;
  before(async () => {
    requireCommand('curl');
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-k8s-'));
    const generated = await runCli(['cert', 'generate', '--out', dir, '--host', 'localhost', '--host', '127.0.0.1']);
    assert.equal(generated.code, 0, generated.stderr);
    proxyCa = join(dir, 'ca.crt');
    pki = await testPki();
    origin = await startTlsOrigin();
    gateway = await startGateway({
      configYaml: [
        'workers: 1',
        'agents: [kubernetes]',
        'listen:',
        '  - address: 127.0.0.1:0',
        `    tls: {cert: ${join(dir, 'gateway.crt')}, key: ${join(dir, 'gateway.key')}, requireTls: true}`,
      ].join('\n'),
      listen: [],
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`, '--resolve', `*.azure-automation.net=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const curl = (host: string) =>
    runCommand('curl', ['-sS', '--max-time', '15', '-x', `https://localhost:${gateway.port}`, '--proxy-cacert', proxyCa, '--cacert', pki.caFile, `https://${host}/hello`]);

  test('the workspace data endpoint of the kubernetes preset tunnels, TLS to the gateway and TLS inside', async () => {
    const result = await curl(WORKSPACE_HOST);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, HELLO_BODY);
    const allowed = await gateway.waitForRecord(recordMatching({ event: 'request-allowed', target: `${WORKSPACE_HOST}:443` }));
    assert.equal(allowed.entry, '*.ods.opinsights.azure.com');
  });

  test('a host outside the kubernetes preset is refused 403 over the same TLS proxy connection', async () => {
    const result = await curl(OUTSIDE_PRESET);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /403/);
    await gateway.waitForRecord(recordMatching({ event: 'request-denied', target: `${OUTSIDE_PRESET}:443` }));
  });
});
