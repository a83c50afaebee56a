// The measurements, each run against every path in turn with the same load generator: hey for what it can
// drive (tunnel set-up, requests over open tunnels, bulk transfers), the agent simulator (agents.ts) for
// idle tunnels and agent load.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeSessions, openSessions, runAgents, type AgentRun, type Path } from './agents.js';
import { runHey, type HeyResult } from './hey.js';
import { runRequests } from './requests.js';
import { treeCpuSeconds, treeRssBytes } from './procs.js';
import type { PathName } from './report.js';
import { TARGET_HOST } from './servers.js';

export interface Sizes {
  readonly setupSeconds: number;
  readonly rpsSeconds: number;
  readonly latencySeconds: number;
  /** Requests per second per tunnel for the latency measurement: far below what any path can do. */
  readonly latencyRatePerTunnel: number;
  readonly bulkBytes: number;
  readonly downloads: number;
  readonly idleTunnels: readonly number[];
  /** Wait before reading resident memory, so the servers finish what the last step started. */
  readonly settleMs: number;
  readonly agentSteps: readonly number[];
  readonly agentPeriodMs: number;
  readonly agentRounds: number;
  readonly uploadBytes: number;
}

export interface Target {
  readonly name: PathName;
  readonly path: Path;
  /** The server's main process (its tree is measured), undefined for the direct path. */
  readonly pid: number | undefined;
}

export type Progress = (line: string) => void;

function urlFor(target: Target, originPort: number, path: string): { url: string; host: string; proxy: string | undefined } {
  return target.path.proxyPort === undefined
    ? { url: `https://127.0.0.1:${originPort}${path}`, host: TARGET_HOST, proxy: undefined }
    : { url: `https://${TARGET_HOST}:${originPort}${path}`, host: TARGET_HOST, proxy: `http://127.0.0.1:${target.path.proxyPort}` };
}

/** (1) CONNECT + TLS handshake + one small GET + close, 32 at a time. */
export function setupRate(target: Target, originPort: number, sizes: Sizes): Promise<HeyResult> {
  return runHey({ ...urlFor(target, originPort, '/hello'), concurrency: 32, durationSeconds: sizes.setupSeconds, keepAlive: false });
}

/** (2) 64 tunnels, opened first, doing small GETs back to back: requests per second. */
export function requestRate(target: Target, originPort: number, sizes: Sizes): Promise<HeyResult> {
  return runRequests(target.path, originPort, { sessions: 64, seconds: sizes.rpsSeconds });
}

/**
 * (2) The same 64 tunnels at a fixed, modest rate, so latency shows the cost a request pays for the path
 * rather than the queue a saturated machine builds.
 */
export function requestLatency(target: Target, originPort: number, sizes: Sizes): Promise<HeyResult> {
  return runRequests(target.path, originPort, { sessions: 64, seconds: sizes.latencySeconds, ratePerSession: sizes.latencyRatePerTunnel });
}

export interface Bulk {
  readonly downloadMBps: number;
  readonly uploadMBps: number;
  readonly errors: number;
  /** CPU seconds the path's server used per GB relayed (undefined for the direct path). */
  readonly cpuSecondsPerGB: number | undefined;
}

/** (3) and (5): downloads in parallel tunnels, then one upload; the server's CPU time over both. */
export async function bulk(target: Target, originPort: number, sizes: Sizes, dir: string): Promise<Bulk> {
  const body = join(dir, 'upload.bin');
  await writeFile(body, Buffer.alloc(sizes.bulkBytes, 0x62));
  const cpuBefore = target.pid === undefined ? 0 : treeCpuSeconds(target.pid);
  const down = await runHey({ ...urlFor(target, originPort, `/bytes?n=${sizes.bulkBytes}`), concurrency: sizes.downloads, requests: sizes.downloads, keepAlive: true, timeoutSeconds: 300 });
  const up = await runHey({ ...urlFor(target, originPort, '/sha256'), concurrency: 1, requests: 1, keepAlive: true, method: 'POST', bodyFile: body, timeoutSeconds: 300 });
  const cpu = target.pid === undefined ? undefined : treeCpuSeconds(target.pid) - cpuBefore;
  const gigabytes = ((sizes.downloads + 1) * sizes.bulkBytes) / 1e9;
  return {
    downloadMBps: (sizes.downloads * sizes.bulkBytes) / 1e6 / down.totalSeconds,
    uploadMBps: sizes.bulkBytes / 1e6 / up.totalSeconds,
    errors: down.errors + up.errors + (sizes.downloads - down.requests) + (1 - up.requests),
    cpuSecondsPerGB: cpu === undefined ? undefined : cpu / gigabytes,
  };
}

export interface Memory {
  readonly idleMB: number;
  /** KB of the server's resident memory per idle tunnel, by number of tunnels. */
  readonly kbPerTunnel: Readonly<Record<number, number>>;
}

async function settledRss(pid: number, settleMs: number): Promise<number> {
  await sleep(settleMs);
  return treeRssBytes(pid);
}

/** (4) The server's resident memory idle and holding each count of idle TLS tunnels. */
export async function memory(target: Target & { pid: number }, originPort: number, sizes: Sizes, progress: Progress): Promise<Memory> {
  const idle = await settledRss(target.pid, sizes.settleMs);
  const kbPerTunnel: Record<number, number> = {};
  for (const count of sizes.idleTunnels) {
    const sessions = await openSessions(target.path, originPort, count);
    const holding = await settledRss(target.pid, sizes.settleMs);
    kbPerTunnel[count] = (holding - idle) / 1024 / count;
    progress(`${target.name}: ${count} idle tunnels → ${((holding - idle) / 1024 / count).toFixed(1)} KB each`);
    closeSessions(sessions);
    await sleep(sizes.settleMs);
  }
  return { idleMB: idle / 1e6, kbPerTunnel };
}

export interface AgentSearch {
  readonly steps: readonly { readonly agents: number; readonly direct: AgentRun; readonly gateway: AgentRun; readonly passed: boolean }[];
  /** The largest count with no error and p99 upload time within 2× of the direct path's. */
  readonly carried: number;
}

/** (6) Agents carried: each step on the direct path and through the gateway; stops at the first failure. */
export async function agentSearch(direct: Target, gateway: Target, originPort: number, sizes: Sizes, progress: Progress): Promise<AgentSearch> {
  const steps: AgentSearch['steps'][number][] = [];
  let carried = 0;
  for (const agents of sizes.agentSteps) {
    const load = { agents, uploadBytes: sizes.uploadBytes, periodMs: sizes.agentPeriodMs, rounds: sizes.agentRounds };
    const directRun = await runAgents(direct.path, originPort, load);
    await sleep(1000);
    const gatewayRun = await runAgents(gateway.path, originPort, load);
    await sleep(1000);
    const passed = gatewayRun.errors === 0 && directRun.errors === 0 && gatewayRun.p99Ms <= 2 * directRun.p99Ms;
    steps.push({ agents, direct: directRun, gateway: gatewayRun, passed });
    progress(
      `agents ${agents}: direct p99 ${directRun.p99Ms.toFixed(1)} ms (${directRun.errors} errors), gateway p99 ${gatewayRun.p99Ms.toFixed(1)} ms ` +
        `(${gatewayRun.errors} errors${gatewayRun.firstError === undefined ? '' : `: ${gatewayRun.firstError}`}) → ${passed ? 'carried' : 'not carried'}`,
    );
    if (!passed) break;
    carried = agents;
  }
  return { steps, carried };
}
