// Failover, proved with real parts on loopback: three gateways behind Debian's HAProxy running the shipped
// deploy/haproxy/haproxy.cfg (ports and check timings set through its environment variables), a client that
// keeps opening tunnels through HAProxy to a TLS origin, and then
//   1. one gateway is killed with SIGKILL and later started again;
//   2. another is stopped with SIGTERM (drain) and started again.
// Pass: the only tunnels that fail are those that were on the killed gateway, or were opened before HAProxy
// marked it down; not one fails around the drain and restart; afterwards everything succeeds and both
// restarted gateways are back in the pool carrying tunnels. The figures are printed as diagnostics.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki } from '../fixtures/pki.js';
import { openTunnel, whenRefused } from '../fixtures/raw-client.js';
import { connectTls, getHello } from '../fixtures/tls-client.js';
import { requireCommand } from '../fixtures/tools.js';
import { startHaproxy, type Haproxy } from './haproxy-process.js';
import { hangBound } from '../fixtures/patience.js';

/** Readiness goes false at once on SIGTERM; HAProxy (fall 2 × inter 200 ms) must notice within this. */
const DRAIN_DELAY_MS = 1500;
/** How long one worker holds each tunnel: long enough to be open while a drained gateway closes its listener. */
const LONG_HOLD_MS = 2500;
const WORKERS = 6;
const SERVERS = ['gw1', 'gw2', 'gw3'] as const;

interface Instance {
  readonly label: string;
  readonly gateway: Gateway;
  readonly startedAt: number;
}

interface TunnelResult {
  readonly host: string;
  readonly openedAt: number;
  /** When the agent finished with it, or when it failed: the connection's close if that came first. */
  readonly endedAt: number;
  readonly error: string | undefined;
  /** The agent's source port, for a tunnel that worked. */
  readonly clientPort: number | undefined;
}

/** Distinct free loopback ports, all held until every one is known. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i += 1) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A tunnel through which an agent's TLS session to `host` is established, and when the far side closed it. */
interface AgentSession {
  readonly tls: TLSSocket;
  /** The agent's own source port, which the PROXY protocol header carries to the gateway. */
  readonly localPort: number;
  /** Date.now() when the connection closed, if it did before the agent closed it. */
  closedAt(): number | undefined;
}

async function openSession(port: number, host: string, ca: string): Promise<AgentSession> {
  const { socket } = await openTunnel(port, `${host}:443`, { timeoutMs: 5000 });
  let closedAt: number | undefined;
  socket.once('close', () => (closedAt ??= Date.now()));
  try {
    const tls = await connectTls(socket, host, ca);
    await getHello(tls, host);
    return { tls, localPort: socket.localPort ?? 0, closedAt: () => closedAt };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

class TunnelFailed extends Error {
  readonly code = 'TUNNEL_FAILED';
  constructor(message: string, readonly closedAt: number | undefined) {
    super(message);
  }
}

/**
 * What an agent does: CONNECT through the load balancer, TLS to the service, a request, a pause, a request.
 * Resolves with the agent's source port.
 */
async function agentTunnel(port: number, host: string, ca: string, holdMs: number): Promise<number> {
  const session = await openSession(port, host, ca);
  try {
    await sleep(holdMs);
    await getHello(session.tls, host);
    return session.localPort;
  } catch (err) {
    throw new TunnelFailed((err as Error).message, session.closedAt());
  } finally {
    session.tls.destroy();
  }
}

describe('failover behind HAProxy', () => {
  let origin: TlsOrigin | undefined;
  let haproxy: Haproxy | undefined;
  const instances: Instance[] = [];

  before(() => requireCommand('haproxy'));
  after(async () => {
    await Promise.all(instances.map(({ gateway }) => gateway.stop('SIGKILL')));
    await haproxy?.stop();
    await origin?.close();
  });

  test('SIGKILL loses only the killed gateway’s tunnels; a SIGTERM drain and restart lose none', { timeout: hangBound(180_000) }, async (t) => {
    const pki = await testPki();
    origin = await startTlsOrigin();
    const originPort = origin.port;
    const [lbPort = 0, statsPort = 0, ...gatewayPorts] = await freePorts(2 + 2 * SERVERS.length);
    const proxyPort = (i: number): number => gatewayPorts[i] ?? 0;
    const checkPort = (i: number): number => gatewayPorts[SERVERS.length + i] ?? 0;

    // Gateway i on its fixed pair of ports, trusting HAProxy's PROXY protocol header (the shipped default).
    // One process per instance (workers: 1), so SIGKILL ends the whole instance, as a host failure would.
    const startInstance = async (i: number, label: string): Promise<Instance> => {
      const gateway = await startGateway({
        listen: [`127.0.0.1:${proxyPort(i)}`],
        metricsListen: `127.0.0.1:${checkPort(i)}`,
        args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${originPort}`, '--proxy-protocol-from', '127.0.0.1/32'],
        configYaml: `workers: 1\ntimeouts:\n  drainDelaySeconds: ${DRAIN_DELAY_MS / 1000}\n  shutdownGraceSeconds: 20\n`,
      });
      const instance = { label, gateway, startedAt: Date.now() };
      instances.push(instance);
      return instance;
    };
    // One after the other, so a failed start leaves every started gateway registered for the after hook.
    const first: Instance[] = [];
    for (const [i, name] of SERVERS.entries()) first.push(await startInstance(i, name));

    haproxy = await startHaproxy({
      OMS_HAPROXY_BIND: `127.0.0.1:${lbPort}`,
      OMS_HAPROXY_STATS_BIND: `127.0.0.1:${statsPort}`,
      // The shipped 50,000 needs about 100,000 descriptors; a test process may not be allowed that many.
      OMS_HAPROXY_MAXCONN: '1000',
      OMS_HAPROXY_CHECK_INTER: '200ms',
      OMS_HAPROXY_CHECK_FASTINTER: '100ms',
      OMS_HAPROXY_CHECK_DOWNINTER: '200ms',
      ...Object.fromEntries(SERVERS.flatMap((_, i) => [[`OMS_GATEWAY_${i + 1}`, `127.0.0.1:${proxyPort(i)}`], [`OMS_GATEWAY_${i + 1}_CHECK_PORT`, String(checkPort(i))]])),
    });
    const lb = haproxy;
    for (const name of SERVERS) await lb.waitForStatus(name, /^UP$/, 10_000);

    // The load: WORKERS agents opening tunnels back to back, each to a name of its own, until told to stop.
    const results: TunnelResult[] = [];
    let running = true;
    let sequence = 0;
    const worker = async (index: number): Promise<void> => {
      while (running) {
        sequence += 1;
        const host = `t${sequence}.ods.opinsights.azure.com`;
        const openedAt = Date.now();
        const hold = index === 0 ? LONG_HOLD_MS : Math.floor(Math.random() * 400);
        let error: string | undefined;
        let clientPort: number | undefined;
        let endedAt = Date.now();
        try {
          clientPort = await agentTunnel(lbPort, host, pki.caPem, hold);
          endedAt = Date.now();
        } catch (err) {
          endedAt = (err instanceof TunnelFailed ? err.closedAt : undefined) ?? Date.now();
          error = err instanceof Error ? err.message : String(err);
          await sleep(20);
        }
        results.push({ host, openedAt, endedAt, error, clientPort });
      }
    };
    const loadStartedAt = Date.now();
    const load = Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)));

    await sleep(1500);
    const [gw1, gw2] = first;
    assert.ok(gw1 && gw2);

    // 1. SIGKILL: no drain at all. HAProxy notices through its checks (and failed connections).
    const killAt = Date.now();
    process.kill(gw1.gateway.pid, 'SIGKILL');
    const downAt = await lb.waitForStatus('gw1', /^DOWN/, 10_000);
    await gw1.gateway.exited;
    await sleep(1500);
    const gw1b = await startInstance(0, 'gw1 (restarted)');
    const gw1UpAt = await lb.waitForStatus('gw1', /^UP$/, 10_000);
    await sleep(1000);

    // 2. SIGTERM: readiness goes false at once, HAProxy takes gw2 out, then its listener closes and its open
    //    tunnels finish; it exits 0 and is started again.
    //    An agent's tunnel open on gw2 (straight to it, so it surely is there) must outlive the listener.
    const held = await openSession(proxyPort(1), 'held.ods.opinsights.azure.com', pki.caPem);
    const termAt = Date.now();
    process.kill(gw2.gateway.pid, 'SIGTERM');
    const gw2DownAt = await lb.waitForStatus('gw2', /^DOWN/, 10_000);
    const gw2ClosedAt = await whenRefused(proxyPort(1), DRAIN_DELAY_MS + 5000);
    await getHello(held.tls, 'held.ods.opinsights.azure.com');
    held.tls.end();
    const gw2Exit = await gw2.gateway.exited;
    const gw2ExitAt = Date.now();
    assert.equal(gw2Exit.code, 0, 'the drained gateway exits 0');
    const stopped = gw2.gateway.records.find((r) => r.event === 'service-stopped');
    const gw2b = await startInstance(1, 'gw2 (restarted)');
    const gw2UpAt = await lb.waitForStatus('gw2', /^UP$/, 10_000);

    // 3. Afterwards: everything succeeds and the restarted gateways take their share.
    await sleep(2500);
    running = false;
    await load;
    const endAt = Date.now();

    const admitted = (host: string): AuditRecord | undefined =>
      instances.flatMap(({ gateway }) => gateway.records).find((r) => r.event === 'request-allowed' && r.target === `${host}:443`);
    const servedBy = (host: string): Instance | undefined => {
      const record = admitted(host);
      return instances.find(({ gateway }) => record !== undefined && gateway.records.includes(record));
    };
    const failures = results.filter((r) => r.error !== undefined);
    const allowed = (r: TunnelResult): boolean => {
      const instance = servedBy(r.host);
      return r.openedAt <= downAt && r.endedAt >= killAt && (instance === undefined || instance === gw1);
    };
    const unexpected = failures.filter((r) => !allowed(r));
    const count = (from: number, to: number): number => results.filter((r) => r.openedAt >= from && r.openedAt < to).length;
    const carried = (instance: Instance, from: number): number => results.filter((r) => r.openedAt >= from && servedBy(r.host) === instance).length;
    const spanningDrain = results.filter((r) => servedBy(r.host) === gw2 && r.openedAt < termAt + DRAIN_DELAY_MS && r.endedAt > termAt + DRAIN_DELAY_MS);

    t.diagnostic(`tunnels: ${results.length} in ${((endAt - loadStartedAt) / 1000).toFixed(1)} s (${WORKERS} agents); failed: ${failures.length}`);
    const onKilled = failures.filter((f) => servedBy(f.host) === gw1).length;
    t.diagnostic(`SIGKILL gw1: HAProxy marked it DOWN after ${downAt - killAt} ms; ${failures.length} tunnel(s) failed: ${onKilled} open on gw1, ${failures.length - onKilled} sent to it before it was marked down; ${count(killAt, gw1UpAt)} tunnels opened from the kill to the rejoin`);
    t.diagnostic(`gw1 restarted: UP in HAProxy ${gw1UpAt - gw1b.startedAt} ms after its start; carried ${carried(gw1b, gw1UpAt)} tunnels afterwards`);
    t.diagnostic(`SIGTERM gw2: DOWN in HAProxy after ${gw2DownAt - termAt} ms, listener closed after ${gw2ClosedAt - termAt} ms (drainDelaySeconds ${DRAIN_DELAY_MS / 1000}); exit 0 after ${gw2ExitAt - termAt} ms, ${JSON.stringify({ outcome: stopped?.outcome, closedTunnels: stopped?.closedTunnels })}; ${spanningDrain.length + 1} of its tunnels outlived its listener; ${count(termAt, gw2UpAt)} tunnels opened from the SIGTERM to the rejoin`);
    t.diagnostic(`gw2 restarted: UP in HAProxy ${gw2UpAt - gw2b.startedAt} ms after its start; carried ${carried(gw2b, gw2UpAt)} tunnels afterwards`);
    const sinceKill = (at: number): string => `${at >= killAt ? '+' : ''}${at - killAt} ms`;
    for (const failure of failures) t.diagnostic(`  failed: ${failure.host} opened ${sinceKill(failure.openedAt)}, ended ${sinceKill(failure.endedAt)} from the kill, on ${servedBy(failure.host)?.label ?? 'no gateway'}: ${failure.error}`);

    assert.deepEqual(unexpected.map((r) => `${r.host} on ${servedBy(r.host)?.label ?? 'no gateway'}: ${r.error}`), [], 'tunnels that failed but were neither on the killed gateway nor opened before it was marked down');
    assert.ok(gw2DownAt < gw2ClosedAt, `HAProxy took the draining gateway out ${gw2DownAt - gw2ClosedAt} ms after its listener closed`);
    assert.equal(stopped?.outcome, 'drained', 'every tunnel of the drained gateway finished on its own');
    assert.ok(carried(gw1b, gw1UpAt) > 0, 'the gateway killed and restarted carries tunnels again');
    assert.ok(carried(gw2b, gw2UpAt) > 0, 'the gateway drained and restarted carries tunnels again');
    assert.ok(results.filter((r) => r.openedAt >= gw2UpAt).length >= WORKERS, 'traffic flowed after both restarts');
    // send-proxy-v2 → proxyProtocol.trusted: each gateway saw the agent's own connection, not HAProxy's.
    const seenPorts = results.filter((r) => r.error === undefined).map((r) => [r.clientPort, admitted(r.host)?.clientPort]);
    assert.deepEqual(seenPorts.filter(([ours, seen]) => ours !== seen), [], 'the gateways logged the agents’ own source ports');
  });
});
