// What an idle tunnel costs the gateway, on its own: the bench's TLS origin and gateway CLI, then each count
// of idle agent sessions (TLS through a CONNECT tunnel) opened and held; the gateway's resident memory (its
// whole process tree, as `npm run bench` reads it) before and while holding them gives KB per tunnel. With
// --snapshot, every gateway process also writes a V8 heap snapshot idle and at each count, and the objects
// the tunnels added are listed by constructor, per tunnel.
//   node dist/bench/idle-memory.js [--counts 1000,10000] [--settle-ms 2000] [--snapshot]
//     [--node-option=--max-semi-space-size=1 ...]
// One process holds at most (ulimit -n) / 2 tunnels (a client and an upstream socket each): with workers: 1
// and the limit at 20000, about 9,000. Writing a snapshot leaves the process larger: with --snapshot, read
// the heap figures, not the resident ones.

import { readdir, readFile, rm, stat, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { closeSessions, openSessions } from './agents.js';
import { processTree, treeRssBytes } from './procs.js';
import { makeCertificate, startGateway, startOrigin } from './servers.js';

/** Ignored by default, so a process without --heapsnapshot-signal is not ended by it. */
const SNAPSHOT_SIGNAL = 'SIGWINCH';

const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '1000,10000' },
    'settle-ms': { type: 'string', default: '2000' },
    snapshot: { type: 'boolean', default: false },
    /** Passed to the gateway's node, e.g. --node-option=--max-semi-space-size=1 */
    'node-option': { type: 'string', multiple: true, default: [] },
  },
});
const counts = values.counts.split(',').map(Number);
const settleMs = Number(values['settle-ms']);

/** Self size and count of the heap's nodes by type and constructor (or closure) name. */
type Census = Map<string, { size: number; count: number }>;

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function census(snapshot: HeapSnapshot): Census {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const result: Census = new Map();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt] ?? 0] ?? '?';
    // Strings are keyed by type alone: their text would split them into thousands of rows.
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '' : (strings[nodes[i + nameAt] ?? 0] ?? '').slice(0, 60);
    const key = `${type} ${name}`;
    const entry = result.get(key) ?? { size: 0, count: 0 };
    entry.size += nodes[i + sizeAt] ?? 0;
    entry.count += 1;
    result.set(key, entry);
  }
  return result;
}

/** Signals each gateway process and reads its snapshot once written; one census per process ID. */
async function snapshotAll(dir: string, pids: readonly number[]): Promise<Map<number, Census>> {
  const before = new Set(await readdir(dir));
  for (const pid of pids) process.kill(pid, SNAPSHOT_SIGNAL);
  const result = new Map<number, Census>();
  const deadline = Date.now() + 300_000;
  while (result.size < pids.length && Date.now() < deadline) {
    await sleep(1000);
    for (const file of await readdir(dir)) {
      if (before.has(file) || !file.endsWith('.heapsnapshot')) continue;
      // Heap.<date>.<time>.<pid>.<thread>.<sequence>.heapsnapshot
      const pid = Number(file.split('.')[3]);
      if (result.has(pid)) continue;
      const path = join(dir, file);
      const size = (await stat(path)).size;
      await sleep(1000);
      if ((await stat(path)).size !== size) continue;
      const text = await readFile(path, 'utf8');
      if (!text.trimEnd().endsWith('}')) continue;
      result.set(pid, census(JSON.parse(text) as HeapSnapshot));
      await rm(path);
    }
  }
  return result;
}

function printGrowth(idle: Map<number, Census>, holding: Map<number, Census>, tunnels: number): void {
  const total: Census = new Map();
  for (const [pid, after] of holding) {
    const base = idle.get(pid) ?? new Map();
    for (const [key, value] of after) {
      const was = base.get(key) ?? { size: 0, count: 0 };
      const entry = total.get(key) ?? { size: 0, count: 0 };
      entry.size += value.size - was.size;
      entry.count += value.count - was.count;
      total.set(key, entry);
    }
  }
  const rows = [...total].filter(([, v]) => v.size > 0).sort((a, b) => b[1].size - a[1].size);
  const sum = rows.reduce((s, [, v]) => s + v.size, 0);
  console.log(`  heap growth: ${(sum / 1024 / tunnels).toFixed(2)} KB per tunnel; top objects (bytes and count per tunnel):`);
  for (const [key, value] of rows.slice(0, 30)) {
    console.log(`    ${(value.size / tunnels).toFixed(0).padStart(6)} B  ${(value.count / tunnels).toFixed(2).padStart(6)}×  ${key}`);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-idle-memory-'));
const certificate = makeCertificate(dir);
const origin = await startOrigin(certificate);
const gateway = await startGateway(dir, {
  originPort: origin.port,
  certificate,
  cpus: undefined,
  // The gateway runs in a folder of its own; its snapshots are written where snapshotAll reads.
  nodeOptions: [...values['node-option'], ...(values.snapshot ? [`--heapsnapshot-signal=${SNAPSHOT_SIGNAL}`, `--diagnostic-dir=${dir}`] : [])],
}).catch(async (err: unknown) => {
  await origin.stop();
  throw err;
});
const path = { name: 'gateway', proxyPort: gateway.port };
try {
  await sleep(settleMs);
  const idleRss = treeRssBytes(gateway.pid);
  console.log(`gateway (workers: 1) idle: ${(idleRss / 2 ** 20).toFixed(1)} MiB resident`);
  const pids = processTree(gateway.pid);
  const idleHeap = values.snapshot ? await snapshotAll(dir, pids) : undefined;
  for (const count of counts) {
    const sessions = await openSessions(path, origin.port, count);
    await sleep(settleMs);
    const holding = treeRssBytes(gateway.pid);
    console.log(`${count} idle tunnels: ${((holding - idleRss) / 1024 / count).toFixed(1)} KB per tunnel (resident ${(holding / 2 ** 20).toFixed(1)} MiB)`);
    if (idleHeap !== undefined) printGrowth(idleHeap, await snapshotAll(dir, pids), count);
    closeSessions(sessions);
    await sleep(settleMs);
  }
} finally {
  await gateway.stop();
  await origin.stop();
  await rm(dir, { recursive: true, force: true });
}
