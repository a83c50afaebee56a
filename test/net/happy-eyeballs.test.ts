// Happy Eyeballs over checked addresses (RFC 8305): families interleaved, a new attempt every attempt delay
// while the earlier ones keep running, the next one at once when one fails, the first to connect wins,
// and one deadline for all. Real sockets on loopback: 127.0.0.1 and 127.0.0.2 share a port so one list
// can hold a black hole and a live listener.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConnectError, connectStaggered, interleaveFamilies } from '../../src/net/happy-eyeballs.js';
import { startBlackHole, type BlackHole } from '../fixtures/black-hole.js';

interface Live {
  readonly server: Server;
  readonly accepted: () => number;
}

async function listen(host: string, port: number): Promise<Live> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, accepted: () => accepted };
}

const isConnectError = (code: string) => (err: unknown): boolean => err instanceof ConnectError && err.code === code;

describe('interleaveFamilies', () => {
  const cases = [
    { name: 'empty', input: [], expected: [] },
    { name: 'one family keeps its order', input: ['192.0.2.1', '192.0.2.2'], expected: ['192.0.2.1', '192.0.2.2'] },
    { name: 'IPv6 first when the resolver put it first', input: ['2001:db8::1', '2001:db8::2', '192.0.2.1', '192.0.2.2'], expected: ['2001:db8::1', '192.0.2.1', '2001:db8::2', '192.0.2.2'] },
    { name: 'IPv4 first when the resolver put it first', input: ['192.0.2.1', '2001:db8::1', '2001:db8::2'], expected: ['192.0.2.1', '2001:db8::1', '2001:db8::2'] },
    { name: 'the longer family runs on at the end', input: ['2001:db8::1', '192.0.2.1', '192.0.2.2', '192.0.2.3'], expected: ['2001:db8::1', '192.0.2.1', '192.0.2.2', '192.0.2.3'] },
  ] as const;
  for (const { name, input, expected } of cases) {
    test(name, () => assert.deepEqual(interleaveFamilies(input), expected));
  }
});

describe('connectStaggered', () => {
  let hole: BlackHole;
  let live: Live;
  let refusedPort: number;
  const opened: Socket[] = [];

  before(async () => {
    hole = await startBlackHole('127.0.0.1');
    live = await listen('127.0.0.2', hole.port);
    // A port nobody listens on: bound once, then released.
    const probe = await listen('127.0.0.1', 0);
    refusedPort = (probe.server.address() as AddressInfo).port;
    await new Promise((resolve) => probe.server.close(resolve));
  });
  after(async () => {
    for (const socket of opened) socket.destroy();
    hole.close();
    await new Promise((resolve) => live.server.close(resolve));
  });

  const dial = async (addresses: readonly string[], port: number, attemptDelayMs: number, timeoutMs = 5000) => {
    const started = Date.now();
    const socket = await connectStaggered(addresses, { port, timeoutMs, attemptDelayMs });
    opened.push(socket);
    return { socket, elapsed: Date.now() - started };
  };

  test('one address: connects to it', async () => {
    const { socket } = await dial(['127.0.0.2'], hole.port, 250);
    assert.equal(socket.remoteAddress, '127.0.0.2');
  });

  test('an address that hangs: the next is tried after the attempt delay, not after the timeout', async () => {
    const { socket, elapsed } = await dial(['127.0.0.1', '127.0.0.2'], hole.port, 100);
    assert.equal(socket.remoteAddress, '127.0.0.2');
    assert.ok(elapsed >= 90 && elapsed < 2000, `connected after ${elapsed} ms`);
  });

  test('an address that refuses: the next is tried at once, without waiting for the attempt delay', async () => {
    const server = await listen('127.0.0.2', refusedPort);
    try {
      const { socket, elapsed } = await dial(['127.0.0.1', '127.0.0.2'], refusedPort, 3000);
      assert.equal(socket.remoteAddress, '127.0.0.2');
      assert.ok(elapsed < 1000, `connected after ${elapsed} ms`);
    } finally {
      await new Promise((resolve) => server.server.close(resolve));
    }
  });

  test('the first address connects within the delay: no second attempt is made', async () => {
    const before = live.accepted();
    const other = await listen('127.0.0.3', hole.port);
    try {
      const { socket } = await dial(['127.0.0.3', '127.0.0.2'], hole.port, 500);
      assert.equal(socket.remoteAddress, '127.0.0.3');
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(live.accepted(), before, 'the second address was dialled although the first had connected');
    } finally {
      await new Promise((resolve) => other.server.close(resolve));
    }
  });

  test('failures: every address refuses → refused; nothing answers → timeout at the deadline; no address → failed', async () => {
    await assert.rejects(connectStaggered(['127.0.0.1'], { port: refusedPort, timeoutMs: 2000, attemptDelayMs: 250 }), isConnectError('refused'));
    const started = Date.now();
    await assert.rejects(connectStaggered(['127.0.0.1'], { port: hole.port, timeoutMs: 300, attemptDelayMs: 100 }), isConnectError('timeout'));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 1500, `timed out after ${elapsed} ms`);
    await assert.rejects(connectStaggered([], { port: hole.port, timeoutMs: 300, attemptDelayMs: 100 }), isConnectError('failed'));
  });
});
