// The revocation registry (proxy/revoke.ts): an exchange is held to a reload's configuration from its
// admission, whatever stage it is in; one in set-up is marked and ended by its handler at the next step, a
// relaying one is closed at once; and a step boundary re-judges an exchange judged by an older configuration
// (a reload during its admission) when the configuration in force says reload.closeDeniedTunnels.
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { parseAuthority } from '../../src/policy/target.js';
import { AdmittedTunnel, closeDeniedTunnels } from '../../src/proxy/revoke.js';
import { Exchange, ExchangeIds } from '../../src/proxy/exchange.js';
import { Landing } from '../../src/net/landing.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { buildRuntime, type Runtime } from '../../src/proxy/runtime.js';

const HOST = 'one.blob.core.windows.net';

function runtimeAllowing(hosts: readonly string[], closeDeniedTunnels: boolean): Runtime {
  const yaml = stringify({ defaultHosts: false, allowedHosts: hosts.map((host) => `${host}:443`), reload: { closeDeniedTunnels } });
  return buildRuntime(parseConfigText(yaml, 'revoke-test.yaml'));
}

/** An admitted exchange as the CONNECT handler registers it; `logger` receives what its exchange records. */
function admitted(runtime: Runtime, logger = capturingLogger().logger): AdmittedTunnel {
  const parsed = parseAuthority(`${HOST}:443`);
  assert.ok(parsed.ok);
  const metrics = new GatewayMetrics({ version: 'test', workspaceLabels: false, maxWorkspaces: 1 });
  const exchange = new Exchange({ logger, metrics, ids: new ExchangeIds(), landing: new Landing() }, 'tunnel', { client: '192.0.2.1', clientPort: 1, listener: 'test' }, 'CONNECT', () => undefined);
  exchange.admit({ ok: true, target: parsed.target, user: undefined, entry: undefined, wouldDeny: undefined, clientRule: undefined });
  return new AdmittedTunnel({ target: parsed.target, user: undefined, client: '192.0.2.1' }, new Socket(), runtime, exchange);
}

function capturingLogger() {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), records };
}

describe('AdmittedTunnel and closeDeniedTunnels', () => {
  const allowing = runtimeAllowing([HOST], true);
  const denying = runtimeAllowing(['other.blob.core.windows.net'], true);

  test('a reload that denies an exchange in set-up counts it and marks it; its handler ends it at the next step', () => {
    const { logger, records } = capturingLogger();
    const tunnel = admitted(allowing, logger);
    assert.equal(closeDeniedTunnels(new Set([tunnel]), denying), 1);
    assert.equal(records.length, 0, 'the handler writes the record when it ends the exchange');
    assert.equal(tunnel.revocation(denying), 'not-in-allowlist');
    // A later reload that allows it again does not undo a revocation already counted.
    closeDeniedTunnels(new Set([tunnel]), allowing);
    assert.equal(tunnel.revocation(allowing), 'not-in-allowlist');
  });

  test('a relaying tunnel is closed at once and logged with its stage', () => {
    const { logger, records } = capturingLogger();
    const tunnel = admitted(allowing, logger);
    let closed = 0;
    tunnel.relayed({ close: () => { closed += 1; } });
    assert.equal(closeDeniedTunnels(new Set([tunnel]), denying), 1);
    assert.equal(closed, 1);
    assert.deepEqual([records[0]?.event, records[0]?.reason, records[0]?.stage], ['tunnel-revoked', 'not-in-allowlist', 'relaying']);
  });

  test('an allowed exchange is left alone', () => {
    const tunnel = admitted(allowing);
    assert.equal(closeDeniedTunnels(new Set([tunnel]), runtimeAllowing([HOST], true)), 0);
    assert.equal(tunnel.revocation(allowing), undefined);
  });

  test('a configuration swapped in after the exchange was judged (a reload during admission) is applied at the next step', () => {
    assert.equal(admitted(allowing).revocation(denying), 'not-in-allowlist');
    assert.equal(admitted(allowing).revocation(allowing), undefined, 'the same configuration: nothing to re-judge');
    // Without reload.closeDeniedTunnels admitted exchanges keep the configuration they were admitted under.
    assert.equal(admitted(allowing).revocation(runtimeAllowing(['other.blob.core.windows.net'], false)), undefined);
  });
});
