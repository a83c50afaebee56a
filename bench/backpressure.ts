// `npm run soak:backpressure`: the full form of test/security/backpressure.test.ts. 1 GB is pushed as fast
// as the connection allows through one tunnel whose far end reads 1 MB/s (about 17 minutes), while the
// gateway's resident memory is sampled. Its RSS must stay within a few MB of its idle level throughout, idle
// being the level of a gateway that has relayed as much at full speed and rested (see the test for why).
// Not part of CI.
//   node dist/bench/backpressure.js [--bytes 1073741824] [--rate 1000000]

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startGateway } from '../test/fixtures/gateway.js';
import { rssBytes } from '../test/fixtures/process-stats.js';
import { openTunnel } from '../test/fixtures/raw-client.js';
import { drainSlowly, pushFast, sampleRss, startServer } from '../test/fixtures/slow-reader.js';

const MiB = 1024 * 1024;
const WARM_UP_BYTES = 64 * MiB;
/** "A few MB": the growth over idle this run accepts. */
const GROWTH_LIMIT = 8 * MiB;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { bytes: { type: 'string', default: String(1024 * MiB) }, rate: { type: 'string', default: '1000000' } } });
  const total = Number(values.bytes);
  const rate = Number(values.rate);
  const slow = await startServer((socket) => {
    reader = drainSlowly(socket, rate);
  });
  let reader: ReturnType<typeof drainSlowly> | undefined;
  const fast = await startServer((socket) => socket.resume());
  const gateway = await startGateway({
    configYaml: 'workers: 1\ninspection:\n  enabled: false\n',
    args: ['--allow-host', 'slow.example', '--resolve', `slow.example=127.0.0.1:${slow.port}`, '--allow-host', 'fast.example', '--resolve', `fast.example=127.0.0.1:${fast.port}`],
  });
  try {
    const idle = sampleRss(gateway.pid, 100);
    const warm = await openTunnel(gateway.port, 'fast.example:443');
    await pushFast(warm.socket, WARM_UP_BYTES).done;
    warm.socket.destroy();
    await sleep(2000);
    idle.stop();
    const baseline = Math.max(...idle.samples);
    console.log(`backpressure: ${(total / MiB).toFixed(0)} MiB to a reader of ${(rate / 1e6).toFixed(2)} MB/s; idle RSS ${(baseline / MiB).toFixed(1)} MiB`);

    const tunnel = await openTunnel(gateway.port, 'slow.example:443');
    const sender = pushFast(tunnel.socket, total);
    const busy = sampleRss(gateway.pid, 500);
    const started = performance.now();
    const progress = setInterval(() => {
      const read = reader?.bytes ?? 0;
      console.log(`${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s: sent ${(sender.bytes / MiB).toFixed(0)} MiB, read ${(read / MiB).toFixed(0)} MiB, RSS ${(rssBytes(gateway.pid) / MiB).toFixed(1)} MiB`);
    }, 10_000);
    while ((reader?.bytes ?? 0) < total) await sleep(500);
    clearInterval(progress);
    busy.stop();
    tunnel.socket.destroy();
    const peak = Math.max(...busy.samples);
    const growth = peak - baseline;
    const seconds = (performance.now() - started) / 1000;
    console.log(`read ${(total / MiB).toFixed(0)} MiB in ${seconds.toFixed(0)} s; RSS idle ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(1)} MiB (limit ${GROWTH_LIMIT / MiB} MiB)`);
    console.log(JSON.stringify({ bytes: total, rate, seconds: Math.round(seconds), idleRss: baseline, peakRss: peak, growth }));
    return growth < GROWTH_LIMIT ? 0 : 1;
  } finally {
    await gateway.stop();
    await slow.close();
    await fast.close();
  }
}

process.exitCode = await main();
