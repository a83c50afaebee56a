// A fast sender and a slow receiver on either side of the gateway: the gateway holds the sender back instead
// of buffering the difference, so its resident memory stays within a few MB of idle while tens of MB wait in
// the sender. "Idle" is the level of a gateway that has relayed as much at full speed and rested: a Node
// process that moves data keeps a few tens of MB of freed-but-not-yet-collected buffers in its RSS whatever
// the receiver does (V8 collects them in batches), and the slow receiver must add nothing to that. This CI variant runs both directions at once for
// 20 s against receivers reading 1 MB/s; `npm run soak:backpressure` (bench/backpressure.ts) pushes 1 GB.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { drainSlowly, pushFast, sampleRss, startServer } from '../fixtures/slow-reader.js';

const RATE = 1_000_000;
const SECONDS = 20;
/** "Within a few MB of idle": the growth allowed while tens of MB wait in the senders. */
const GROWTH_LIMIT = 8 * 1024 * 1024;
const MiB = 1024 * 1024;
const WARM_UP_BYTES = 32 * MiB;

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

  test(`${SECONDS} s of a fast sender against a 1 MB/s receiver, each way: RSS grows by less than ${GROWTH_LIMIT / MiB} MiB`, { timeout: 120_000 }, async () => {
    // Warm-up: as much as the slow phase will try to move, each way, at full speed.
    const idle = sampleRss(gateway.pid, 100);
    const warmUp = await openTunnel(gateway.port, 'fast.example:443');
    await pushFast(warmUp.socket, WARM_UP_BYTES).done;
    warmUp.socket.destroy();
    const warmDown = await openTunnel(gateway.port, 'down.example:443');
    let downloaded = 0;
    for await (const chunk of warmDown.socket) {
      downloaded += (chunk as Buffer).length;
      if (downloaded >= WARM_UP_BYTES) break;
    }
    warmDown.socket.destroy();
    await sleep(2000);
    idle.stop();
    const baseline = Math.max(...idle.samples);

    const up = await openTunnel(gateway.port, 'up.example:443');
    const down = await openTunnel(gateway.port, 'down.example:443');
    const sender = pushFast(up.socket, Number.MAX_SAFE_INTEGER);
    const receiver = drainSlowly(down.socket, RATE);
    const busy = sampleRss(gateway.pid, 250);
    await sleep(SECONDS * 1000);
    busy.stop();
    sender.stop();
    receiver.stop();
    up.socket.destroy();
    down.socket.destroy();

    const received = { up: uploads.at(-1)?.bytes ?? 0, down: receiver.bytes };
    const sent = { up: sender.bytes, down: downloads.at(-1)?.bytes ?? 0 };
    const peak = Math.max(...busy.samples);
    const figures = `idle ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB; ` +
      `up ${(sent.up / MiB).toFixed(1)} MiB sent / ${(received.up / MiB).toFixed(1)} MiB read, ` +
      `down ${(sent.down / MiB).toFixed(1)} MiB sent / ${(received.down / MiB).toFixed(1)} MiB read`;
    // The receivers really read at their rate, so bytes were flowing the whole time...
    assert.ok(received.up >= RATE * SECONDS * 0.6 && received.down >= RATE * SECONDS * 0.6, figures);
    // ...the senders were held back to what the receivers took plus socket buffers...
    assert.ok(sent.up - received.up < 16 * MiB && sent.down - received.down < 16 * MiB, figures);
    // ...and the gateway did not keep the difference.
    assert.ok(peak - baseline < GROWTH_LIMIT, figures);
    console.log(`backpressure: ${figures}`);
  });
});
