// What DNS can do to the gateway: answer with loopback, the metadata service or other special addresses
// for an allowed name (refused after resolution, never dialled), answer with a mix of good and bad
// addresses (only the checked good one is dialled), or not answer at all (the client is told 502 within the
// connect timeout and everything else keeps working). The gateway runs in its own mount namespace
// (`unshare -m`) with its own /etc/hosts and /etc/resolv.conf, so the system resolver it uses, exactly as
// agents do, can be given any answer. That needs root, as CI has.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { startServer, type Upstream } from '../fixtures/slow-reader.js';

/** A resolver address on loopback where nothing answers: queries to it time out. */
const SILENT_RESOLVER = '127.53.53.53';
const ALLOWED_HOST = '127.0.0.200';

/** Fails (never skips) with what is missing when this machine cannot give a process its own /etc files. */
function requireMountNamespace(): void {
  const probe = spawnSync('unshare', ['-m', 'true']);
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(`these tests run the gateway under 'unshare -m' (util-linux) to give it its own /etc/hosts and /etc/resolv.conf; that needs root (CAP_SYS_ADMIN): ${probe.error?.message ?? probe.stderr.toString()}`);
  }
}

describe('DNS answers and DNS outages', () => {
  let dir: string;
  let resolver: UdpSocket;
  let forbidden: Upstream;
  let allowed: Upstream;
  let gateway: Gateway;
  let port: number;
  const special: readonly [name: string, address: string][] = [
    ['loopback', '127.0.0.1'],
    ['metadata', '169.254.169.254'],
    ['mapped-metadata', '::ffff:169.254.169.254'],
    ['nat64-metadata', '64:ff9b::a9fe:a9fe'],
    // RFC 8215's local-use NAT64 prefix, in its /96 and RFC 6052 /48 layouts (issue 16).
    ['nat64-local-metadata', '64:ff9b:1::a9fe:a9fe'],
    ['nat64-local48-metadata', '64:ff9b:1:a9fe:a9:fe00::'],
    ['cgnat', '100.64.0.1'],
    ['zero', '0.0.0.0'],
    ['ipv6-loopback', '::1'],
    ['wireserver', '168.63.129.16'],
  ];

  before(async () => {
    requireMountNamespace();
    resolver = createSocket('udp4');
    resolver.bind(53, SILENT_RESOLVER);
    await once(resolver, 'listening');
    forbidden = await startServer((socket) => socket.destroy());
    // The same port on another loopback address, so one allowlist entry covers both.
    port = forbidden.port;
    allowed = await startServer((socket) => socket.end('allowed'), ALLOWED_HOST, port);

    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-dns-'));
    const hosts = join(dir, 'hosts');
    const resolv = join(dir, 'resolv.conf');
    await writeFile(hosts, [
      '127.0.0.1 localhost',
      ...special.map(([name, address]) => `${address} ${name}.dns.example`),
      `127.0.0.1 mixed.dns.example`,
      `${ALLOWED_HOST} mixed.dns.example`,
      '',
    ].join('\n'));
    await writeFile(resolv, `nameserver ${SILENT_RESOLVER}\noptions timeout:5 attempts:2\n`);
    // Loopback is narrowed to 127.0.0.0/25, so 127.0.0.200 is an ordinary allowed address here.
    const denied = ['0.0.0.0/8', '127.0.0.0/25', '169.254.0.0/16', '100.64.0.0/10', '168.63.129.16/32', '224.0.0.0/4', '240.0.0.0/4', '::/128', '::1/128', 'fe80::/10', 'ff00::/8'];
    gateway = await startGateway({
      launcher: ['unshare', '-m', 'sh', '-c', `mount --bind ${hosts} /etc/hosts && mount --bind ${resolv} /etc/resolv.conf && exec "$0" "$@"`],
      configYaml: [
        `workers: 1\ninspection:\n  enabled: false\ntimeouts:\n  connectSeconds: 1\nallowedHosts:\n  - "*.dns.example:${port}"`,
        `deniedAddresses:\n${denied.map((cidr) => `  - "${cidr}"`).join('\n')}`,
        // A mapping to another name: that name's addresses are held to the address rules (issue 16).
        'resolve:\n  - "mapped.dns.example=loopback.dns.example"\n  - "mapped-ok.dns.example=mixed.dns.example"\n',
      ].join('\n'),
    });
  });
  after(async () => {
    await gateway?.stop();
    await forbidden?.close();
    await allowed?.close();
    resolver?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const [name, address] of special) {
    test(`an allowed name resolving to ${address} (${name}) is refused 403 address-not-allowed, never dialled`, async () => {
      const since = gateway.records.length;
      const head = await connectStatus(gateway.port, `${name}.dns.example:${port}`);
      assert.equal(head.status, 403);
      const record = await gateway.waitForRecord((r) => r.event === 'request-denied', 5000, since);
      assert.equal(record.reason, 'address-not-allowed');
      assert.equal(forbidden.connections, 0);
    });
  }

  test('a name with a denied and an allowed address: only the checked, allowed one is dialled', async () => {
    for (let i = 0; i < 5; i++) {
      const head = await connectStatus(gateway.port, `mixed.dns.example:${port}`);
      assert.equal(head.status, 200);
    }
    assert.equal(forbidden.connections, 0);
    assert.ok(allowed.connections >= 5);
  });

  test('a resolve mapping to a name whose address is denied is refused 403 address-not-allowed, never dialled (issue 16)', async () => {
    const since = gateway.records.length;
    const head = await connectStatus(gateway.port, `mapped.dns.example:${port}`);
    assert.equal(head.status, 403);
    const record = await gateway.waitForRecord((r) => r.event === 'request-denied', 5000, since);
    assert.equal(record.reason, 'address-not-allowed');
    assert.equal(forbidden.connections, 0);
    const before = allowed.connections;
    assert.equal((await connectStatus(gateway.port, `mapped-ok.dns.example:${port}`)).status, 200, 'a mapped name dials its allowed addresses only');
    // The allowed origin counts the connection when it accepts it, which may trail the 200 by a tick.
    for (let i = 0; i < 50 && allowed.connections === before; i++) await sleep(10);
    assert.equal(allowed.connections, before + 1);
    assert.equal(forbidden.connections, 0);
  });

  test('a resolver that never answers: 502 dns-failure within the connect timeout, and the gateway keeps serving', async () => {
    const since = gateway.records.length;
    const started = performance.now();
    const head = await connectStatus(gateway.port, `unknown.dns.example:${port}`);
    const ms = performance.now() - started;
    assert.equal(head.status, 502);
    assert.ok(ms >= 900 && ms < 3000, `answered after ${ms} ms`);
    const record = await gateway.waitForRecord((r) => r.event === 'upstream-error', 5000, since);
    assert.equal(record.reason, 'dns-failure');
    // The abandoned lookup still runs; names the hosts file knows resolve meanwhile.
    assert.equal((await connectStatus(gateway.port, `mixed.dns.example:${port}`)).status, 200);
  });
});
