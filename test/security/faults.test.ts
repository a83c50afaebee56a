// Upstream and client faults in the middle of a tunnel: a reset mid-stream, a half-open upstream, a slow
// one, a client that vanishes while data flows or while the gateway is still dialling. In each case the
// gateway closes cleanly, frees both sockets (its descriptors return to their level before) and keeps
// serving. test/e2e/upstream-failures.test.ts covers refused, unresolvable and black-holed targets before a
// tunnel exists; test/security/close-orders.test.ts every orderly and disorderly end.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBlackHole, type BlackHole } from '../fixtures/black-hole.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { openFds, settle } from '../fixtures/process-stats.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { expectStillServes } from '../fixtures/refusal.js';
import { pushFast, startServer } from '../fixtures/slow-reader.js';

/** What the upstream named by the CONNECT host does with each connection. */
const BEHAVIOURS: Readonly<Record<string, (socket: Socket) => void>> = {
  // Once the client has spoken: 100 KB, then a reset.
  'reset.example': (socket) => {
    socket.once('data', () => socket.write(Buffer.alloc(100 * 1024, 0x72), () => socket.resetAndDestroy()));
  },
  // Its own FIN at once, then it keeps reading: the client's bytes must still arrive.
  'half-open.example': (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      halfOpenReceived = Buffer.concat(chunks).toString();
      socket.end();
    });
    socket.end();
  },
  // One byte every 50 ms, 40 in all.
  'slow.example': (socket) => {
    let sent = 0;
    const timer = setInterval(() => {
      socket.write(String.fromCharCode(0x41 + (sent % 26)));
      if (++sent === 40) {
        clearInterval(timer);
        socket.end();
      }
    }, 50);
    socket.once('close', () => clearInterval(timer));
  },
  // As fast as the client takes it, for ever.
  'stream.example': (socket) => {
    streamed.push(socket);
    pushFast(socket, Number.MAX_SAFE_INTEGER);
  },
};

let halfOpenReceived = '';
const streamed: Socket[] = [];

describe('faults in the middle of a tunnel', () => {
  let upstreams: Awaited<ReturnType<typeof startServer>>[];
  let hole: BlackHole;
  let gateway: Gateway;
  before(async () => {
    upstreams = await Promise.all(Object.values(BEHAVIOURS).map((behave) => startServer(behave)));
    hole = await startBlackHole();
    const names = Object.keys(BEHAVIOURS);
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\ntimeouts:\n  connectSeconds: 1.5\n',
      args: [
        ...names.flatMap((name, i) => ['--allow-host', name, '--resolve', `${name}=127.0.0.1:${upstreams[i]?.port}`]),
        '--allow-host', 'hole.example', '--resolve', `hole.example=127.0.0.1:${hole.port}`,
      ],
    });
    // A warm gateway, so descriptor counts compare like with like.
    await expectStillServes(gateway, 'slow.example:443');
  });
  after(async () => {
    await gateway.stop();
    hole.close();
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  });

  /** Runs `fault`, then checks descriptors are back at their earlier level and a new tunnel opens. */
  async function leavesNothingBehind(fault: () => Promise<void>): Promise<void> {
    await sleep(200);
    const before = openFds(gateway.pid);
    await fault();
    const after = await settle(() => openFds(gateway.pid), (fds) => fds <= before, 5000);
    assert.ok(after <= before, `${after} descriptors open, ${before} before`);
    await expectStillServes(gateway, 'slow.example:443');
  }

  test('an upstream reset mid-stream: the client gets what was sent, then the tunnel closes', async () => {
    await leavesNothingBehind(async () => {
      const since = gateway.records.length;
      const { socket } = await openTunnel(gateway.port, 'reset.example:443');
      socket.on('error', () => undefined);
      let received = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      socket.write('request');
      await once(socket, 'close');
      assert.ok(received > 0 && received <= 100 * 1024, `received ${received} bytes`);
      const record = await gateway.waitForRecord((r) => r.event === 'tunnel-closed', 5000, since);
      assert.ok(['error', 'upstream'].includes(String(record.closedBy)), String(record.closedBy));
    });
  });

  test('a half-open upstream (FIN at once, still reading) still receives what the client sends', async () => {
    await leavesNothingBehind(async () => {
      // A client that keeps its own half open after the upstream's FIN, as the relay does.
      const socket = connect({ host: '127.0.0.1', port: gateway.port, allowHalfOpen: true });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      socket.write('CONNECT half-open.example:443 HTTP/1.1\r\nHost: half-open.example:443\r\n\r\n');
      let answer = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
      await once(socket, 'end');
      assert.match(answer, /^HTTP\/1\.1 200 /);
      socket.end('sent after the upstream finished sending');
      await once(socket, 'close');
      await settle(() => halfOpenReceived, (text) => text !== '', 3000);
      assert.equal(halfOpenReceived, 'sent after the upstream finished sending');
    });
  });

  test('a slow upstream: every byte arrives in order and the tunnel stays open meanwhile', async () => {
    await leavesNothingBehind(async () => {
      const { socket } = await openTunnel(gateway.port, 'slow.example:443');
      let text = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk)).resume();
      await once(socket, 'end');
      socket.end();
      assert.equal(text, Array.from({ length: 40 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join(''));
    });
  });

  test('a client that vanishes (reset) while data streams to it: the upstream connection is closed too', async () => {
    await leavesNothingBehind(async () => {
      const { socket } = await openTunnel(gateway.port, 'stream.example:443');
      socket.resume();
      await sleep(300);
      const upstream = streamed.at(-1);
      assert.ok(upstream !== undefined);
      // The gateway may reset it (ECONNRESET) rather than end it: either way it must close.
      const upstreamClosed = new Promise((resolve) => upstream.once('close', resolve));
      socket.resetAndDestroy();
      await upstreamClosed;
    });
  });

  test('a client that vanishes while the gateway is still dialling: nothing is left once the dial gives up', async () => {
    await leavesNothingBehind(async () => {
      const since = gateway.records.length;
      const socket = connect({ host: '127.0.0.1', port: gateway.port });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      socket.write('CONNECT hole.example:443 HTTP/1.1\r\nHost: hole.example:443\r\n\r\n');
      await sleep(200);
      socket.destroy();
      const record = await gateway.waitForRecord((r) => r.event === 'upstream-error', 5000, since);
      assert.equal(record.reason, 'connect-timeout');
    });
  });
});
