import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import type { RelayStats } from '../../src/observability/outcomes.js';
import { relay, tunnelTimers, type RelayOptions } from '../../src/proxy/relay.js';

/** Two connected socket pairs on loopback: the relay's client/upstream ends and the far ends a test drives. */
async function socketPair(): Promise<{ near: Socket; far: Socket; server: Server }> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const far = connect({ port: address.port, host: '127.0.0.1', allowHalfOpen: true });
  const [near] = await accepted;
  await once(far, 'connect');
  return { near, far, server };
}

async function tunnel(head = Buffer.alloc(0), options: Partial<Omit<RelayOptions, 'onClose' | 'timers'>> = {}) {
  const client = await socketPair();
  const upstream = await socketPair();
  let resolveStats: (stats: RelayStats) => void = () => {};
  const closed = new Promise<RelayStats>((resolve) => { resolveStats = resolve; });
  const handle = relay(client.near, upstream.near, head, { keepAliveMs: 30_000, ...options, timers: tunnelTimers(), onClose: resolveStats });
  // A side the relay ends while bytes it has not read wait in its socket is reset by the kernel (RST), and the
  // far end still writing or reading gets ECONNRESET: the far ends see that as a release, like a FIN, and the
  // tests judge the relay by its stats and by what the far ends received.
  for (const far of [client.far, upstream.far]) far.on('error', () => undefined);
  const cleanup = (): void => {
    for (const s of [client.far, upstream.far, client.near, upstream.near]) s.destroy();
    client.server.close();
    upstream.server.close();
  };
  return { agent: client.far, origin: upstream.far, closed, handle, cleanup };
}

/** The far end sees the relay give up its side (FIN or RST). */
function released(socket: Socket): Promise<unknown> {
  socket.resume();
  return Promise.race([once(socket, 'end'), once(socket, 'close')]);
}

function collect(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

describe('relay', () => {
  test('delivers bytes pipelined after the CONNECT head before anything else', async (t) => {
    const { agent, origin, cleanup } = await tunnel(Buffer.from('early-'));
    t.after(cleanup);
    const received = collect(origin);
    agent.end('late');
    assert.equal((await received).toString(), 'early-late');
  });

  test('passes a half-close on and keeps the other direction flowing', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel();
    t.after(cleanup);
    const atOrigin = collect(origin);
    const atAgent = collect(agent);
    agent.end('request');
    assert.equal((await atOrigin).toString(), 'request');
    // The agent has finished sending; the origin can still answer over the same tunnel.
    origin.end('response after client FIN');
    assert.equal((await atAgent).toString(), 'response after client FIN');
    const stats = await closed;
    assert.equal(stats.bytesFromClient, 'request'.length);
    assert.equal(stats.bytesToClient, 'response after client FIN'.length);
    assert.equal(stats.closedBy, 'client');
  });

  test('tears both sides down when one side resets', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel();
    t.after(cleanup);
    const agentReleased = released(agent);
    origin.resetAndDestroy();
    await agentReleased;
    assert.equal((await closed).closedBy, 'error');
  });

  test('close() from the gateway ends both sides and reports it', async (t) => {
    const { agent, origin, closed, handle, cleanup } = await tunnel();
    t.after(cleanup);
    const both = Promise.all([released(agent), released(origin)]);
    handle.close();
    await both;
    assert.equal((await closed).closedBy, 'gateway');
  });

  test('holds a fast sender back while the receiver does not read (backpressure)', async (t) => {
    const { agent, origin, cleanup } = await tunnel();
    t.after(cleanup);
    origin.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    const limit = 256 * 1024 * 1024;
    let written = 0;
    let stalled = false;
    // Without backpressure the relay would read everything into memory and the agent would never stall.
    while (!stalled && written < limit) {
      written += chunk.length;
      if (!agent.write(chunk)) {
        const drained = once(agent, 'drain').then(() => false);
        const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300));
        stalled = await Promise.race([drained, timeout]);
      }
    }
    assert.ok(stalled, 'the sender was never held back');
    assert.ok(written < 64 * 1024 * 1024, `relay accepted ${written} bytes for a reader that reads nothing`);
  });
});

describe('relay timeouts', () => {
  test('closes a tunnel that carried no byte either way for idleTimeoutMs', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel(Buffer.alloc(0), { idleTimeoutMs: 300 });
    t.after(cleanup);
    const started = performance.now();
    const both = Promise.all([released(agent), released(origin)]);
    const stats = await closed;
    await both;
    assert.equal(stats.closedBy, 'idle-timeout');
    assert.ok(performance.now() - started >= 250, 'not before the idle time');
  });

  test('traffic in either direction alone keeps the tunnel open past the idle time', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel(Buffer.alloc(0), { idleTimeoutMs: 300 });
    t.after(cleanup);
    let result: RelayStats | undefined;
    void closed.then((stats) => (result = stats));
    agent.resume();
    origin.resume();
    // 1 s of traffic, first only towards the client, then only from it; each gap is shorter than the idle time.
    for (let i = 0; i < 10; i++) {
      (i < 5 ? origin : agent).write('x');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(result, undefined, `closed while busy: ${JSON.stringify(result)}`);
    assert.equal((await closed).closedBy, 'idle-timeout');
  });

  test('after a FIN from one side, closes the tunnel when the other side stays silent for halfClosedTimeoutMs', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel(Buffer.alloc(0), { idleTimeoutMs: 60_000, halfClosedTimeoutMs: 300 });
    t.after(cleanup);
    origin.resume();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(agent.destroyed, false, 'no FIN yet: only the idle timeout applies');
    const started = performance.now();
    agent.end();
    const stats = await closed;
    assert.equal(stats.closedBy, 'half-closed-timeout');
    assert.ok(performance.now() - started >= 250);
  });

  test('an answer still flowing after the FIN keeps a half-closed tunnel open', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel(Buffer.alloc(0), { halfClosedTimeoutMs: 300 });
    t.after(cleanup);
    let result: RelayStats | undefined;
    void closed.then((stats) => (result = stats));
    agent.resume();
    origin.resume();
    agent.end('request');
    for (let i = 0; i < 8; i++) {
      origin.write('part of a slow answer');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(result, undefined);
    origin.end();
    assert.equal((await closed).closedBy, 'client');
  });

  test('closes a busy tunnel at maxLifetimeMs', async (t) => {
    const { agent, origin, closed, cleanup } = await tunnel(Buffer.alloc(0), { maxLifetimeMs: 300 });
    t.after(cleanup);
    origin.resume();
    const ticker = setInterval(() => agent.write('x'), 20);
    t.after(() => clearInterval(ticker));
    const stats = await closed;
    assert.equal(stats.closedBy, 'max-lifetime');
    assert.ok(stats.durationMs >= 250 && stats.durationMs < 2000, `lasted ${stats.durationMs} ms`);
  });

  test('0 switches both off', async (t) => {
    const { closed, handle, cleanup } = await tunnel(Buffer.alloc(0), { idleTimeoutMs: 0, maxLifetimeMs: 0 });
    t.after(cleanup);
    let ended = false;
    void closed.then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(ended, false);
    handle.close();
    assert.equal((await closed).closedBy, 'gateway');
  });
});
