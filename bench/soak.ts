// `npm run soak`: many short tunnels through one gateway process on loopback, ended in every order a
// connection can end — client FIN, server FIN, half-close, client RST, server RST, silent upstream — to show
// that nothing leaks: at the end the gateway's open descriptors are back where they started, its
// active-tunnel gauge is 0, and its resident memory is no higher than a quarter into the run. (Not than at
// the start: the heap grows to carry the run's concurrency — about 1,700 tunnels open at once, most of them
// silent ones waiting out the half-closed timeout — and neither V8 nor glibc hands that back at once; a leak
// shows as growth over the three quarters that follow, 75,000 tunnels.) Not part of CI (ten minutes).
//   node dist/bench/soak.js [--tunnels 100000] [--seconds 600] [--concurrency 64] [--orders client-fin,...]
// Prints progress every 10 s and a summary; exits 1 when tunnels failed or something did not return to its
// starting level.

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { activeTunnels, CLOSE_ORDERS, runTunnel, startOrderedUpstream, type CloseOrder } from '../test/fixtures/close-orders.js';
import { startGateway, type Gateway } from '../test/fixtures/gateway.js';
import { openFds, rssBytes } from '../test/fixtures/process-stats.js';

const TARGET = 'soak.example';
/** Growth allowed from a quarter into the run to its end before the run counts as leaking. */
const RSS_SLACK_BYTES = 16 * 1024 * 1024;
const FD_SLACK = 2;
/** Longest wait after the last tunnel for the gateway to close what it still holds. */
const END_SETTLE_MS = 90_000;

interface Snapshot {
  readonly rssMiB: number;
  readonly fds: number;
  readonly activeTunnels: number;
}

async function snapshot(gateway: Gateway): Promise<Snapshot> {
  return { rssMiB: rssBytes(gateway.pid) / 1024 / 1024, fds: openFds(gateway.pid), activeTunnels: await activeTunnels(gateway) };
}

function describeSnapshot(s: Snapshot): string {
  return `RSS ${s.rssMiB.toFixed(1)} MiB, open fds ${s.fds}, active tunnels ${s.activeTunnels}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tunnels: { type: 'string', default: '100000' },
      seconds: { type: 'string', default: '600' },
      concurrency: { type: 'string', default: '64' },
      orders: { type: 'string', default: CLOSE_ORDERS.join(',') },
    },
  });
  const total = Number(values.tunnels);
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const orders = values.orders.split(',').filter((order): order is CloseOrder => (CLOSE_ORDERS as readonly string[]).includes(order));
  const upstream = await startOrderedUpstream();
  // One worker, so that the memory and descriptors measured are those of the process doing the work; the
  // audit log stays at info, as operators run it.
  const gateway = await startGateway({
    configYaml: 'workers: 1\ninspection:\n  enabled: false\nlimits:\n  maxConnectionsPerClient: 0\n',
    args: ['--allow-host', TARGET, '--resolve', `${TARGET}=127.0.0.1:${upstream.port}`],
  });
  try {
    // A short warm-up, so the start figures are of a gateway that has loaded its code paths.
    // Without 'silent', whose tunnels stay open for the half-closed timeout.
    for (const order of orders.filter((o) => o !== 'silent')) await runTunnel(gateway.port, `${TARGET}:443`, order);
    await sleep(1000);
    const start = await snapshot(gateway);
    console.log(`soak: ${total} tunnels over ${seconds} s, ${concurrency} at a time, close orders ${orders.join(', ')}`);
    console.log(`start: ${describeSnapshot(start)}`);

    const errors = new Map<string, number>();
    let steady: Snapshot | undefined;
    let started = 0;
    let done = 0;
    const t0 = performance.now();
    const progress = setInterval(() => {
      void snapshot(gateway).then((s) => {
        const elapsed = (performance.now() - t0) / 1000;
        if (steady === undefined && elapsed >= seconds / 4) steady = s;
        const failed = [...errors.values()].reduce((a, b) => a + b, 0);
        console.log(`${elapsed.toFixed(0).padStart(4)} s: ${done} tunnels (${(done / elapsed).toFixed(0)}/s), ${failed} errors, ${describeSnapshot(s)}`);
      });
    }, 10_000);
    const intervalMs = (seconds * 1000) / total;
    const runner = async (): Promise<void> => {
      while (started < total) {
        const index = started++;
        const due = t0 + index * intervalMs;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const order = orders[index % orders.length] ?? 'client-fin';
        const outcome = await runTunnel(gateway.port, `${TARGET}:443`, order);
        done += 1;
        if (outcome !== 'ok') errors.set(`${order}:${outcome}`, (errors.get(`${order}:${outcome}`) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, runner));
    clearInterval(progress);
    const elapsed = (performance.now() - t0) / 1000;

    // Tunnels whose client left a silent upstream close at timeouts.tunnelHalfClosedSeconds (60 s by
    // default); wait for them, and for the descriptors of the rest, before taking the end figures.
    const settleBy = Date.now() + END_SETTLE_MS;
    let end = await snapshot(gateway);
    while ((end.activeTunnels !== 0 || end.fds > start.fds) && Date.now() < settleBy) {
      await sleep(1000);
      end = await snapshot(gateway);
    }
    await sleep(1000);
    end = await snapshot(gateway);
    const failed = [...errors.values()].reduce((a, b) => a + b, 0);
    console.log(`end:   ${describeSnapshot(end)}`);
    console.log(`tunnels ${done} in ${elapsed.toFixed(0)} s (${(done / elapsed).toFixed(0)}/s), errors ${failed}${failed > 0 ? ` ${JSON.stringify(Object.fromEntries(errors))}` : ''}`);
    const reference = steady ?? start;
    console.log(`RSS ${start.rssMiB.toFixed(1)} (start) → ${reference.rssMiB.toFixed(1)} (a quarter in) → ${end.rssMiB.toFixed(1)} MiB (end), open fds ${start.fds} → ${end.fds}, active tunnels ${end.activeTunnels}`);
    console.log(JSON.stringify({ tunnels: done, seconds: Math.round(elapsed), errors: failed, errorKinds: Object.fromEntries(errors), start, steady, end }));
    const leaked = end.fds > start.fds + FD_SLACK || (end.rssMiB - reference.rssMiB) * 1024 * 1024 > RSS_SLACK_BYTES || end.activeTunnels !== 0;
    return failed > 0 || leaked ? 1 : 0;
  } finally {
    await gateway.stop();
    await upstream.close();
  }
}

process.exitCode = await main();
