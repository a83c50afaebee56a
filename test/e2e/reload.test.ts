// Hot reload of a running gateway (SIGHUP, `oms-gateway reload`, the editing commands, `watch: true`):
// tunnels opened before a reload keep running, or are closed when reload.closeDeniedTunnels says so; new
// requests follow the new policy; an invalid file changes nothing; listeners are added and removed without
// a gap; and no tunnel is dropped across 50 reloads while traffic flows.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { stringify } from 'yaml';
import { runCli, tempDir } from '../fixtures/cli.js';
import { recordMatching, startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { openSession } from '../fixtures/keepalive.js';
import { startTcpSink, startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { connectStatus, openTunnel, probeConnect } from '../fixtures/raw-client.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';
import { hangBound } from '../fixtures/patience.js';

// Names under a wildcard of the test certificate, mapped to the origin.
const KEPT = 'kept.blob.core.windows.net';
const DROPPED = 'dropped.blob.core.windows.net';

let pki: TestPki;
let origin: TlsOrigin;
before(async () => {
  pki = await testPki();
  origin = await startTlsOrigin();
});
after(() => origin?.close());

/** Both test hosts allowed on the origin's port and mapped to it. */
function settings(hosts: readonly string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    workers: 1,
    defaultHosts: false,
    allowedHosts: hosts.map((host) => `${host}:${origin.port}`),
    deniedAddresses: [],
    resolve: [`*.blob.core.windows.net=127.0.0.1:${origin.port}`],
    ...extra,
  };
}

/** Rewrites the gateway's file, signals it, and returns its config-reloaded or config-invalid record. */
async function reloadWith(gateway: Gateway, text: string): Promise<AuditRecord> {
  assert.ok(gateway.configFile !== undefined);
  const since = gateway.records.length;
  await writeFile(gateway.configFile, text);
  process.kill(gateway.pid, 'SIGHUP');
  return gateway.waitForRecord((r) => r.event === 'config-reloaded' || r.event === 'config-invalid' || r.event === 'reload-failed', 30_000, since);
}

async function start(t: TestContext, yaml: string, options: { listen?: string[]; args?: string[] } = {}): Promise<Gateway> {
  const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: yaml, ...options });
  t.after(() => gateway.stop('SIGKILL'));
  return gateway;
}

describe('reload keeps open tunnels and applies the new policy to new requests', () => {
  test('removing a host: the open tunnel keeps running, a new CONNECT to it is refused, other hosts still pass', async (t) => {
    const gateway = await start(t, stringify(settings([KEPT, DROPPED])));
    const session = await openSession(gateway.port, DROPPED, origin.port, pki.caPem);
    t.after(() => session.close());
    await session.hello();
    const record = await reloadWith(gateway, stringify(settings([KEPT])));
    assert.equal(record.event, 'config-reloaded');
    assert.equal(record.eventId, 1200);
    assert.equal(record.trigger, 'SIGHUP');
    const changes = record.changes as { key: string; removed?: { pattern: string }[] }[];
    assert.deepEqual(changes.find((c) => c.key === 'policy.allowlist')?.removed?.map((e) => e.pattern), [DROPPED]);
    await session.hello();
    assert.equal((await connectStatus(gateway.port, `${DROPPED}:${origin.port}`)).status, 403);
    assert.equal((await connectStatus(gateway.port, `${KEPT}:${origin.port}`)).status, 200);
    await session.hello();
  });

  test('removing a user: the user\'s open tunnel keeps running, its new requests get 407', async (t) => {
    const users = [{ name: 'alice', password: 'alice-pass-1' }, { name: 'bob', password: 'bob-pass-2' }];
    const both = await basicAuthYaml(users, settings([KEPT]));
    const gateway = await start(t, both);
    const bob = { 'Proxy-Authorization': basicCredentials('bob', 'bob-pass-2') };
    const session = await openSession(gateway.port, KEPT, origin.port, pki.caPem, { headers: bob });
    t.after(() => session.close());
    await session.hello();
    const record = await reloadWith(gateway, await basicAuthYaml(users.slice(0, 1), settings([KEPT])));
    assert.equal(record.event, 'config-reloaded');
    assert.ok(!JSON.stringify(record).includes('scrypt$'), 'a password hash reached the log');
    await session.hello();
    assert.equal((await connectStatus(gateway.port, `${KEPT}:${origin.port}`, { headers: bob })).status, 407);
    const alice = { 'Proxy-Authorization': basicCredentials('alice', 'alice-pass-1') };
    assert.equal((await connectStatus(gateway.port, `${KEPT}:${origin.port}`, { headers: alice })).status, 200);
  });

  test('reload.closeDeniedTunnels: tunnels the new policy denies are closed and logged, the others keep running', async (t) => {
    const gateway = await start(t, stringify(settings([KEPT, DROPPED], { reload: { closeDeniedTunnels: true } })));
    const dropped = await openSession(gateway.port, DROPPED, origin.port, pki.caPem);
    const kept = await openSession(gateway.port, KEPT, origin.port, pki.caPem);
    t.after(() => {
      dropped.close();
      kept.close();
    });
    await Promise.all([dropped.hello(), kept.hello()]);
    const closed = new Promise<void>((resolve) => dropped.tls.once('close', () => resolve()));
    const record = await reloadWith(gateway, stringify(settings([KEPT], { reload: { closeDeniedTunnels: true } })));
    assert.equal(record.tunnelsClosed, 1);
    await closed;
    const revoked = await gateway.waitForRecord(recordMatching({ event: 'tunnel-revoked', target: `${DROPPED}:${origin.port}` }));
    assert.equal(revoked.reason, 'not-in-allowlist');
    await kept.hello();
  });

  test('reload.closeDeniedTunnels: a tunnel past its 200 still waiting for its ClientHello is ended before it relays a byte (issue 16)', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const onSink = (hosts: readonly string[]): string => stringify({
      ...settings([]),
      allowedHosts: hosts.map((host) => `${host}:${sink.port}`),
      resolve: [`*.blob.core.windows.net=127.0.0.1:${sink.port}`],
      reload: { closeDeniedTunnels: true },
    });
    const gateway = await start(t, onSink([KEPT, DROPPED]));
    const target = `${DROPPED}:${sink.port}`;
    // The gateway dials before it answers 200, and inspection then holds the tunnel until the ClientHello.
    const tunnel = await openTunnel(gateway.port, target);
    t.after(() => tunnel.socket.destroy());
    const record = await reloadWith(gateway, onSink([KEPT]));
    assert.equal(record.event, 'config-reloaded');
    assert.equal(record.tunnelsClosed, 1);

    const since = gateway.records.length;
    const closed = once(tunnel.socket, 'close');
    const tls = tlsConnect({ socket: tunnel.socket, servername: DROPPED, rejectUnauthorized: false });
    tls.on('error', () => undefined);
    // Without the fix the inspection passes and the relay sends the ClientHello on: no record comes.
    const ended = await gateway.waitForRecord(recordMatching({ event: 'tunnel-closed', target }), 15_000, since);
    assert.equal(ended.closedBy, 'gateway');
    assert.equal(ended.bytesFromClient, 0);
    const revoked = await gateway.waitForRecord(recordMatching({ event: 'tunnel-revoked', target }), 5000, since);
    assert.equal(revoked.reason, 'not-in-allowlist');
    assert.equal(revoked.stage, 'handshake');
    await closed;
    assert.equal(sink.connections, 1, 'the tunnel was dialled once');
    assert.equal(sink.received.length, 0, 'the origin saw a byte of the revoked tunnel');
  });

  test('reload.closeDeniedTunnels: a tunnel still connecting (its relay proxy has not answered) is refused 403, never established (issue 16)', async (t) => {
    // A relay proxy that holds its answer to the gateway's CONNECT until told: the gateway's dial is under way.
    let asked: () => void = () => undefined;
    const heard = new Promise<void>((resolve) => { asked = resolve; });
    const parentSockets: Socket[] = [];
    let received = Buffer.alloc(0);
    const parent = createServer((socket) => {
      parentSockets.push(socket);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.includes('\r\n\r\n')) asked();
      });
    });
    parent.listen(0, '127.0.0.1');
    await once(parent, 'listening');
    t.after(() => {
      for (const socket of parentSockets) socket.destroy();
      parent.close();
    });
    const viaParent = (hosts: readonly string[]): string => stringify({
      ...settings(hosts),
      resolve: [],
      timeouts: { connectSeconds: 60 },
      relayProxy: { url: `http://127.0.0.1:${(parent.address() as AddressInfo).port}` },
      reload: { closeDeniedTunnels: true },
    });
    const gateway = await start(t, viaParent([KEPT, DROPPED]));
    const target = `${DROPPED}:${origin.port}`;
    const answer = connectStatus(gateway.port, target, { timeoutMs: 60_000 });
    await heard;
    const record = await reloadWith(gateway, viaParent([KEPT]));
    assert.equal(record.tunnelsClosed, 1);
    const since = gateway.records.length;
    parentSockets[0]?.write('HTTP/1.1 200 Connection established\r\n\r\n');
    assert.equal((await answer).status, 403, 'the client was told 200 for a tunnel the reload denied');
    const revoked = await gateway.waitForRecord(recordMatching({ event: 'tunnel-revoked', target }), 5000, since);
    assert.deepEqual([revoked.reason, revoked.stage], ['not-in-allowlist', 'connecting']);
    assert.equal(received.subarray(received.indexOf('\r\n\r\n') + 4).length, 0, 'nothing but the CONNECT head reached the relay');
  });

  test('reload.closeDeniedTunnels: a removed user\'s tunnels are closed', async (t) => {
    const users = [{ name: 'alice', password: 'alice-pass-1' }, { name: 'bob', password: 'bob-pass-2' }];
    const extra = { reload: { closeDeniedTunnels: true } };
    const gateway = await start(t, await basicAuthYaml(users, settings([KEPT], extra)));
    const session = await openSession(gateway.port, KEPT, origin.port, pki.caPem, { headers: { 'Proxy-Authorization': basicCredentials('bob', 'bob-pass-2') } });
    t.after(() => session.close());
    const closed = new Promise<void>((resolve) => session.tls.once('close', () => resolve()));
    await reloadWith(gateway, await basicAuthYaml(users.slice(0, 1), settings([KEPT], extra)));
    await closed;
    const revoked = await gateway.waitForRecord(recordMatching({ event: 'tunnel-revoked', user: 'bob' }));
    assert.equal(revoked.reason, 'user-removed');
  });

  test('a reload of a file with hashes that other users can read logs secrets-exposed (1404) and still applies it (issue 16)', async (t) => {
    const yaml = await basicAuthYaml([{ name: 'alice', password: 'alice-pass-1' }], settings([KEPT]));
    const gateway = await start(t, yaml);
    assert.ok(gateway.configFile !== undefined);
    assert.equal(gateway.records.filter((r) => r.event === 'secrets-exposed').length, 0, 'the fixture writes mode 0600');
    await chmod(gateway.configFile, 0o644);
    const since = gateway.records.length;
    const record = await reloadWith(gateway, yaml);
    assert.equal(record.event, 'config-reloaded');
    const exposed = gateway.records.slice(since).filter((r) => r.event === 'secrets-exposed');
    assert.equal(exposed.length, 1, JSON.stringify(exposed));
    assert.equal(exposed[0]?.eventId, 1404);
    assert.equal(exposed[0]?.level, 'warn');
    assert.deepEqual([exposed[0]?.file, exposed[0]?.mode, exposed[0]?.holds], [gateway.configFile, '0644', ['password hashes']]);
    assert.ok(!JSON.stringify(exposed).includes('scrypt$'));
  });

  test('an invalid file changes nothing: config-invalid (401) names the problem, the old policy stays', async (t) => {
    const gateway = await start(t, stringify(settings([KEPT])));
    const session = await openSession(gateway.port, KEPT, origin.port, pki.caPem);
    t.after(() => session.close());
    const record = await reloadWith(gateway, `${stringify(settings([KEPT, DROPPED]))}timeouts:\n  connectSeconds: -1\n`);
    assert.equal(record.event, 'config-invalid');
    assert.equal(record.eventId, 401);
    assert.deepEqual((record.issues as { key: string }[]).map((issue) => issue.key), ['timeouts.connectSeconds']);
    await session.hello();
    assert.equal((await connectStatus(gateway.port, `${DROPPED}:${origin.port}`)).status, 403, 'part of the invalid file was applied');
    assert.equal((await connectStatus(gateway.port, `${KEPT}:${origin.port}`)).status, 200);
  });
});

describe('listeners at reload', () => {
  test('a listener added by a reload accepts at once, a removed one stops accepting, the kept one never closes', async (t) => {
    const one = settings([KEPT], { listen: ['127.0.0.1:0'] });
    const gateway = await start(t, stringify(one), { listen: [] });
    const added = await reloadWith(gateway, stringify({ ...one, listen: ['127.0.0.1:0', '127.0.0.1:0'] }));
    const [address] = added.listenersOpened as string[];
    assert.ok(address !== undefined, JSON.stringify(added));
    const port = Number(address.split(':').at(-1));
    assert.equal((await connectStatus(port, `${KEPT}:${origin.port}`)).status, 200);
    assert.equal((await connectStatus(gateway.port, `${KEPT}:${origin.port}`)).status, 200);
    const session = await openSession(port, KEPT, origin.port, pki.caPem);
    t.after(() => session.close());

    const removed = await reloadWith(gateway, stringify(one));
    assert.deepEqual(removed.listenersClosed, [address]);
    assert.equal(await probeConnect(port), 'ECONNREFUSED');
    await session.hello();
    assert.equal((await connectStatus(gateway.port, `${KEPT}:${origin.port}`)).status, 200);
  });
});

describe('ways to ask for a reload', () => {
  test('`oms-gateway reload` validates first: an invalid file is refused with exit 2 and the gateway is not signalled', async (t) => {
    const dir = await tempDir(t);
    const pidFile = join(dir, 'gateway.pid');
    const gateway = await start(t, stringify(settings([KEPT], { pidFile })));
    const config = gateway.configFile ?? '';
    const since = gateway.records.length;
    await writeFile(config, `${stringify(settings([KEPT], { pidFile }))}bogus: 1\n`);
    const refused = await runCli(['reload', '--config', config]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /bogus: unknown key/);
    await writeFile(config, stringify(settings([KEPT, DROPPED], { pidFile })));
    const accepted = await runCli(['reload', '--config', config]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, new RegExp(`the running gateway \\(pid ${gateway.pid}\\) applied it \\(generation 2\\): policy\\.allowlist`));
    const record = await gateway.waitForRecord((r) => r.event === 'config-reloaded', 10_000, since);
    assert.ok(!gateway.records.slice(since).some((r) => r.event === 'config-invalid'), 'the invalid file reached the gateway');
    assert.equal(record.trigger, 'SIGHUP');
    assert.equal((await connectStatus(gateway.port, `${DROPPED}:${origin.port}`)).status, 200);
  });

  test('an editing command (allowed-host add) tells the running gateway through the pid file', async (t) => {
    const dir = await tempDir(t);
    const pidFile = join(dir, 'gateway.pid');
    const gateway = await start(t, stringify(settings([KEPT], { pidFile })));
    const since = gateway.records.length;
    const result = await runCli(['allowed-host', 'add', `${DROPPED}:${origin.port}`, '--config', gateway.configFile ?? '']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /the running gateway \(pid \d+\) applied it \(generation 2\): policy\.allowlist/);
    await gateway.waitForRecord((r) => r.event === 'config-reloaded', 10_000, since);
    assert.equal((await connectStatus(gateway.port, `${DROPPED}:${origin.port}`)).status, 200);
  });

  test('watch: true reloads a changed file by itself', async (t) => {
    const gateway = await start(t, stringify(settings([KEPT], { watch: true, reload: { debounceSeconds: 0.2 } })));
    const since = gateway.records.length;
    await writeFile(gateway.configFile ?? '', stringify(settings([KEPT, DROPPED], { watch: true, reload: { debounceSeconds: 0.2 } })));
    const record = await gateway.waitForRecord((r) => r.event === 'config-reloaded', 10_000, since);
    assert.equal(record.trigger, 'file-change');
    assert.equal((await connectStatus(gateway.port, `${DROPPED}:${origin.port}`)).status, 200);
  });
});

for (const workers of [1, 2]) {
  test(`no tunnel is dropped across 50 reloads while traffic flows (workers: ${workers})`, { timeout: hangBound(120_000) }, async (t) => {
    const base = { ...settings([KEPT]), workers };
    const gateway = await start(t, stringify(base));
    const sessions = await Promise.all(Array.from({ length: 4 }, () => openSession(gateway.port, KEPT, origin.port, pki.caPem)));
    t.after(() => sessions.forEach((s) => s.close()));
    let traffic = true;
    let answered = 0;
    const flows = sessions.map(async (session) => {
      while (traffic) {
        await session.hello();
        answered += 1;
      }
    });
    for (let round = 0; round < 50; round++) {
      const hosts = round % 2 === 0 ? [KEPT, `extra${round}.blob.core.windows.net`] : [KEPT];
      const record = await reloadWith(gateway, stringify({ ...base, allowedHosts: hosts.map((h) => `${h}:${origin.port}`) }));
      assert.equal(record.event, 'config-reloaded', JSON.stringify(record));
    }
    await sleep(100);
    traffic = false;
    await Promise.all(flows);
    for (const session of sessions) await session.hello();
    assert.ok(answered >= 50, `only ${answered} answers went through during the reloads`);
    assert.ok(!gateway.records.some((r) => r.event === 'tunnel-closed'), 'a tunnel was closed during the reloads');
  });
}
