// deploy/haproxy/haproxy.cfg as shipped: `haproxy -c` accepts it on a host where none of the gateway names
// resolve and none of its variables is set, and what it checks and where it sends traffic are the
// gateway's real readiness path, metrics port and proxy port. (failover.test.ts runs it for real.)

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { READY_PATH } from '../../src/observability/metrics-server.js';
import { requireCommand } from '../fixtures/tools.js';
import { defaultConfig, readRepoFile } from './effective.js';
import { BACKEND, HAPROXY_CFG } from './haproxy-process.js';
import { hangBound } from '../fixtures/patience.js';

const raw = readRepoFile('deploy', 'haproxy', 'haproxy.cfg');
/** Lines without comments, each "${NAME-default}" replaced by its default: the file as HAProxy reads it by default. */
const lines = raw
  .split('\n')
  .map((line) => line.replace(/#.*$/, '').trim())
  .filter((line) => line !== '')
  .map((line) => line.replace(/"\$\{[A-Z0-9_]+-([^}]*)\}"/g, '$1'));
const section = (header: string): string[] => {
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `section ${header}`);
  const end = lines.findIndex((line, i) => i > start && /^(global|defaults|listen|frontend|backend|resolvers)\b/.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end);
};
const defaults = defaultConfig();

function check(env: Record<string, string>): { status: number | null; output: string } {
  const result = spawnSync('haproxy', ['-c', '-f', HAPROXY_CFG], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: hangBound(30_000) });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('haproxy.cfg', () => {
  before(() => requireCommand('haproxy'));

  const variants: [string, Record<string, string>][] = [
    ['as shipped, with no variable set', {}],
    ['run as an ordinary user', { OMS_HAPROXY_UNPRIVILEGED: '1' }],
    ['without the PROXY protocol', { OMS_HAPROXY_NO_PROXY_PROTOCOL: '1' }],
    ['with addresses from the environment', { OMS_GATEWAY_1: '127.0.0.1:8080', OMS_GATEWAY_2: '[::1]:8080', OMS_GATEWAY_3: '192.0.2.3:8080' }],
  ];
  for (const [name, env] of variants) {
    test(`haproxy -c passes ${name}`, () => {
      const { status, output } = check(env);
      assert.equal(status, 0, output);
      assert.match(output, /Configuration file is valid/);
    });
  }

  test('the example names do not resolve here, and that is not an error', () => {
    const { status, output } = check({});
    assert.equal(status, 0);
    assert.match(output, /could not resolve address 'gateway1\.example\.net'/);
  });

  const backend = section(`listen ${BACKEND}`);
  const servers = backend.filter((line) => line.startsWith('server '));

  test('relays TCP (layer 4): agents’ CONNECT, credentials and TLS pass through untouched', () => {
    assert.ok(section('defaults').includes('mode tcp'));
    assert.ok(!backend.some((line) => line.startsWith('mode ') && line !== 'mode tcp'));
  });

  test('checks each gateway’s readiness endpoint on its metrics port, and sends traffic to its proxy port', () => {
    assert.ok(backend.includes(`option httpchk GET ${READY_PATH}`));
    assert.ok(backend.includes('http-check expect status 200'));
    assert.ok(servers.length >= 2, 'several gateways');
    for (const server of servers) {
      const match = /^server \S+ (\S+):(\d+) check port (\d+)$/.exec(server);
      assert.ok(match, server);
      assert.equal(Number(match[2]), defaults.listen[0]?.port, 'traffic to the proxy port');
      assert.equal(Number(match[3]), defaults.metrics.listen.port, 'checks on the metrics port');
    }
    const bind = backend.find((line) => line.startsWith('bind '));
    assert.equal(Number(bind?.split(':').at(-1)), defaults.listen[0]?.port, 'agents keep the port they already use');
  });

  test('a draining gateway keeps its open tunnels: sessions are not cut when a server goes down', () => {
    assert.ok(!lines.some((line) => /on-marked-down\s+shutdown-sessions/.test(line)));
    assert.ok(section('defaults').some((line) => /^option redispatch\b/.test(line)) && section('defaults').some((line) => /^retries [1-9]/.test(line)), 'a refused connection is retried elsewhere');
  });

  test('takes a draining gateway out within the drain delay the deployment guide recommends', () => {
    const defaultServer = backend.find((line) => line.startsWith('default-server ') && / inter /.test(line)) ?? '';
    const value = (name: string): string => new RegExp(` ${name} (\\S+)`).exec(defaultServer)?.[1] ?? '';
    const inter = Number(/^(\d+)s$/.exec(value('inter'))?.[1]);
    const fall = Number(value('fall'));
    const recommended = Number(/drainDelaySeconds: (\d+)\s+# HAProxy/.exec(readRepoFile('docs', 'deployment.md'))?.[1]);
    assert.ok(inter > 0 && fall > 0, defaultServer);
    assert.ok(recommended > inter * fall, `docs/deployment.md recommends drainDelaySeconds ${recommended} for HAProxy, not above fall × inter = ${inter * fall} s`);
  });
});
