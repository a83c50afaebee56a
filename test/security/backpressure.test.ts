// A fast sender and a slow receiver on either side of the gateway: the gateway holds the sender back instead
// of buffering the difference. What it holds is read from the gateway itself — the bytes waiting in its
// tunnels' socket buffers (oms_gateway_tunnel_buffered_bytes), sampled throughout — not from its resident
// memory, which swings by tens of MB with the garbage collector's timing whatever the receiver does. This CI
// variant runs both directions at once for 20 s against receivers reading 1 MB/s; `npm run soak:backpressure`
// (bench/backpressure.ts) pushes 1 GB.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { scrapeMetrics } from '../fixtures/exchange.js';
import { drainSlowly, pushFast, startServer } from '../fixtures/slow-reader.js';
import { hangBound } from '../fixtures/patience.js';

const RATE = 1_000_000;
const SECONDS = 20;
const MiB = 1024 * 1024;
/**
 * Bytes the gateway may hold for two tunnels at once: each leg buffers up to a highWaterMark (16-64 KiB)
 * per direction before pipe() pauses its source, a few hundred KiB in all. Without backpressure the
 * difference between the senders and the 1 MB/s receivers (tens of MB over the run) would pile up here.
 */
const HELD_LIMIT = 2 * MiB;
const SAMPLE_MS = 250;

describe('backpressure keeps the gateway memory flat', () => {
  let gateway: Gateway;
  let uploadOrigin: Awaited<ReturnType<typeof startServer>>;
  let downloadOrigin: Awaited<ReturnType<typeof startServer>>;
  let fastOrigin: Awaited<ReturnType<typeof startServer>>;
  const uploads: ReturnType<typeof drainSlowly>[] = [];
  const downloads: ReturnType<typeof pushFast>[] = [];
  before(async () => {
    uploadOrigin = await startServer((socket) => uploads.push(drainSlowly(socket, RATE)));
    fastOrigin = await startServer((socket) => socket.resume());
    downloadOrigin = await startServer((socket) => downloads.push(pushFast(socket, Number.MAX_SAFE_INTEGER)));
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\n',
      args: [
        '--allow-host', 'up.example', '--resolve', `up.example=127.0.0.1:${uploadOrigin.port}`,
        '--allow-host', 'down.example', '--resolve', `down.example=127.0.0.1:${downloadOrigin.port}`,
        '--allow-host', 'fast.example', '--resolve', `fast.example=127.0.0.1:${fastOrigin.port}`,
      ],
    });
  });
  after(async () => {
    for (const push of downloads) push.stop();
    await gateway.stop();
    await uploadOrigin.close();
    await downloadOrigin.close();
    await fastOrigin.close();
  });

  test(`${SECONDS} s of a fast sender against a 1 MB/s receiver, each way: the gateway holds less than ${HELD_LIMIT / MiB} MiB in its sockets`, { timeout: hangBound(120_000) }, async () => {
    const base = gateway.metricsBaseUrl;
    assert.ok(base !== undefined);
    const held = async (): Promise<number> => {
      const { samples } = await scrapeMetrics(base);
      const sample = samples.find((s) => s.name === 'oms_gateway_tunnel_buffered_bytes');
      assert.ok(sample !== undefined, 'the gateway reports no oms_gateway_tunnel_buffered_bytes');
      return sample.value;
    };
    // A tunnel at full speed first: the gauge follows real traffic (and is not a constant 0).
    const warmUp = await openTunnel(gateway.port, 'fast.example:443');
    const warmSender = pushFast(warmUp.socket, 64 * MiB);
    await warmSender.done;
    warmUp.socket.destroy();

    const up = await openTunnel(gateway.port, 'up.example:443');
    const down = await openTunnel(gateway.port, 'down.example:443');
    const sender = pushFast(up.socket, Number.MAX_SAFE_INTEGER);
    const receiver = drainSlowly(down.socket, RATE);
    const samples: number[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      samples.push(await held());
      await sleep(SAMPLE_MS);
    }
    sender.stop();
    receiver.stop();
    up.socket.destroy();
    down.socket.destroy();

    const received = { up: uploads.at(-1)?.bytes ?? 0, down: receiver.bytes };
    const sent = { up: sender.bytes, down: downloads.at(-1)?.bytes ?? 0 };
    const peak = Math.max(...samples);
    const figures = `held at most ${(peak / 1024).toFixed(0)} KiB over ${samples.length} samples; ` +
      `up ${(sent.up / MiB).toFixed(1)} MiB sent / ${(received.up / MiB).toFixed(1)} MiB read, ` +
      `down ${(sent.down / MiB).toFixed(1)} MiB sent / ${(received.down / MiB).toFixed(1)} MiB read`;
    // The receivers really read at their rate, so bytes were flowing the whole time...
    assert.ok(received.up >= RATE * SECONDS * 0.6 && received.down >= RATE * SECONDS * 0.6, figures);
    // ...the senders were held back to what the receivers took plus socket buffers...
    assert.ok(sent.up - received.up < 16 * MiB && sent.down - received.down < 16 * MiB, figures);
    // ...the gauge saw the slow tunnels' buffers filled to their marks...
    assert.ok(peak > 0, figures);
    // ...and the gateway never kept the difference.
    assert.ok(peak < HELD_LIMIT, figures);
    console.log(`backpressure: ${figures}`);
  });
});
