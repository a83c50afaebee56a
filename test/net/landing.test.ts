// Dialled sockets whose reads land in one shared buffer (net/landing.ts), relayed by the gateway's relay
// (proxy/relay.ts), on real loopback sockets: what is read before relaying reaches the stream as usual, many
// sockets reading at once never see each other's bytes, a relay keeps every byte in order with the end
// passed on, and a slow reader holds the sender back instead of the gateway buffering for it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LandedSocket, Landing, LANDING_BYTES } from '../../src/net/landing.js';
import { relay, tunnelTimers } from '../../src/proxy/relay.js';
import { pseudoRandomSha256, pseudoRandomStream } from '../fixtures/bytes.js';

/** An origin that sends `bytes` pseudo-random bytes to each connection, then ends it. */
async function origin(bytes: number): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    pseudoRandomStream(bytes).pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return { server, port: address.port };
}

async function dial(landing: Landing, port: number): Promise<LandedSocket> {
  const socket = new LandedSocket(landing, { allowHalfOpen: true }).connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** A loopback pair: what is written to `near` is read from `far`. */
async function pair(): Promise<{ near: Socket; far: Socket; close(): void }> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const { connect } = await import('node:net');
  const near = connect({ host: '127.0.0.1', port: address.port, allowHalfOpen: true });
  const [far] = await accepted;
  await once(near, 'connect');
  return {
    near,
    far,
    close: () => {
      near.destroy();
      far.destroy();
      server.close();
    },
  };
}

/** The gateway's relay from a landed upstream to `client`, as the CONNECT handler starts it. */
function relayTo(upstream: LandedSocket, client: Socket): void {
  relay(client, upstream, Buffer.alloc(0), { keepAliveMs: 60_000, timers: tunnelTimers(), onClose: () => undefined });
}

function digestOf(socket: Socket): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  return once(socket, 'end').then(() => ({ bytes, sha256: hash.digest('hex') }));
}

describe('reads landing in a shared buffer', () => {
  const SIZE = 3 * 1024 * 1024 + 17;
  let source: { server: Server; port: number };
  before(async () => {
    source = await origin(SIZE);
  });
  after(() => source.server.close());

  test('before relaying, what is read reaches the stream: every byte, in order, then the end', async () => {
    const socket = await dial(new Landing(), source.port);
    assert.deepEqual(await digestOf(socket), { bytes: SIZE, sha256: pseudoRandomSha256(SIZE) });
    socket.destroy();
  });

  test('twenty sockets reading at once through one landing each get exactly their own bytes', async () => {
    const landing = new Landing();
    const sockets = await Promise.all(Array.from({ length: 20 }, () => dial(landing, source.port)));
    const digests = await Promise.all(sockets.map((socket) => digestOf(socket)));
    for (const digest of digests) assert.deepEqual(digest, { bytes: SIZE, sha256: pseudoRandomSha256(SIZE) });
    for (const socket of sockets) socket.destroy();
  });

  test('relayed to twenty slow readers at once: every byte arrives, in order, and the end is passed on', async () => {
    const landing = new Landing(4);
    const relays = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const socket = await dial(landing, source.port);
        const { near, far, close } = await pair();
        relayTo(socket, near);
        // A reader that takes a chunk, then waits a little: the relay must wait for it, not buffer ahead.
        far.on('data', () => {
          far.pause();
          setImmediate(() => far.resume());
        });
        const digest = await digestOf(far);
        close();
        socket.destroy();
        return digest;
      }),
    );
    for (const digest of relays) assert.deepEqual(digest, { bytes: SIZE, sha256: pseudoRandomSha256(SIZE) });
  });

  test('bytes read before the relay starts go first', async () => {
    const socket = await dial(new Landing(), source.port);
    // Let some bytes arrive and wait in the stream unread.
    await once(socket, 'readable');
    assert.ok(socket.readableLength > 0);
    const { near, far, close } = await pair();
    const digest = digestOf(far);
    relayTo(socket, near);
    assert.deepEqual(await digest, { bytes: SIZE, sha256: pseudoRandomSha256(SIZE) });
    close();
    socket.destroy();
  });

  test('a reader that stops reading holds the sender back: the relay keeps at most one landing in flight', async (t) => {
    // Far more than the kernel buffers on the way can hold, so a relay that read on regardless would show.
    const LARGE = 64 * 1024 * 1024;
    const large = await origin(LARGE);
    t.after(() => large.server.close());
    const socket = await dial(new Landing(), large.port);
    const { near, far, close } = await pair();
    far.pause();
    relayTo(socket, near);
    // Wait until the kernel's buffers on the way are full and the relay has stopped reading.
    let last = -1;
    for (let i = 0; i < 200 && socket.bytesRead !== last; i += 1) {
      last = socket.bytesRead;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(socket.bytesRead < LARGE / 2, `${socket.bytesRead} bytes read although nobody read the other side`);
    assert.ok(near.writableLength <= LANDING_BYTES, `the relay queued ${near.writableLength} bytes for a reader that reads nothing`);
    const digest = digestOf(far);
    far.resume();
    assert.deepEqual(await digest, { bytes: LARGE, sha256: pseudoRandomSha256(LARGE) });
    close();
    socket.destroy();
  });
});
