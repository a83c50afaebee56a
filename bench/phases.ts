// The measurements, each against one path with a fresh origin (and a fresh proxy) the caller started: hey
// for what it can drive (tunnel set-up, bulk transfers), bench/requests.ts for requests over open tunnels,
// the agent simulator (agents.ts) for idle tunnels and agent load.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import { closeSessions, openSessions, runAgents, type AgentRun, type Path } from './agents.js';
import { runHey, type HeyResult } from './hey.js';
import { driveSessions, runRequests } from './requests.js';
import { cpusBusySeconds, treeCpuSeconds, treeRssBytes } from './procs.js';
import type { PathName } from './summary.js';
import { TARGET_HOST } from './servers.js';

export interface Sizes {
  /**
   * Load sent through a fresh proxy before a rate is measured, not counted: the Node processes (the gateway,
   * the pipe relay) compile their hot code while it runs, so the figure is the steady state a gateway
   * that has been up for a while shows, not its first seconds.
   */
  readonly warmupSeconds: number;
  readonly setupSeconds: number;
  readonly rpsSeconds: number;
  /**
   * The set-up and request rates are measured on all paths in turns of this many seconds (bench/groups.ts),
   * until each path has had its setupSeconds or rpsSeconds.
   */
  readonly sliceSeconds: number;
  readonly latencySeconds: number;
  /** Requests per second per tunnel for the latency measurement: far below what any path can do. */
  readonly latencyRatePerTunnel: number;
  readonly bulkBytes: number;
  readonly downloads: number;
  /** Bulk transfers per path and run, the paths in turns; each figure is over all of them. */
  readonly bulkRounds: number;
  readonly idleTunnels: readonly number[];
  /** Wait before reading resident memory, so the servers finish what the last step started. */
  readonly settleMs: number;
  /** Wait after a measurement's processes stopped, so their sockets have closed before the next one's open. */
  readonly pauseMs: number;
  /** Agent counts tried in turn; the first is the one whose p99 the target compares. */
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
  /** The CPUs the origin and the load generator are pinned to; undefined: not pinned (nothing to read apart). */
  readonly loadCpus: readonly number[] | undefined;
}

function urlFor(target: Target, originPort: number, path: string): { url: string; host: string; proxy: string | undefined } {
  const { proxyPort, proxyTls } = target.path;
  return proxyPort === undefined
    ? { url: `https://127.0.0.1:${originPort}${path}`, host: TARGET_HOST, proxy: undefined }
    : { url: `https://${TARGET_HOST}:${originPort}${path}`, host: TARGET_HOST, proxy: `${proxyTls === true ? 'https' : 'http'}://127.0.0.1:${proxyPort}` };
}

/**
 * What one path is given, measurement after measurement: bench/groups.ts gives every path its measurements
 * in turns, so that a slow spell of the machine falls on all paths alike.
 */
export interface Turns<R> {
  /** Load through the fresh proxy before the first turn, not counted (sizes.warmupSeconds, or none). */
  warmUp(): Promise<void>;
  take(): Promise<R>;
  close(): void;
}

/**
 * A slice of a rate's load: what got done, how long it took, the proxy's CPU seconds over it, and the seconds
 * the load CPUs were busy (undefined when nothing is pinned).
 */
export interface Slice {
  readonly result: HeyResult;
  readonly cpu: number | undefined;
  readonly loadCpu: number | undefined;
}

/**
 * `run`'s result, the CPU seconds the proxy's process tree used during it (undefined for the direct path) and
 * how long the load CPUs were busy meanwhile (undefined when nothing is pinned).
 */
async function slice(target: Target, run: () => Promise<HeyResult>): Promise<Slice> {
  const { pid, loadCpus } = target;
  const proxyBefore = pid === undefined ? 0 : treeCpuSeconds(pid);
  const loadBefore = loadCpus === undefined ? 0 : cpusBusySeconds(loadCpus);
  const result = await run();
  return {
    result,
    cpu: pid === undefined ? undefined : treeCpuSeconds(pid) - proxyBefore,
    loadCpu: loadCpus === undefined ? undefined : cpusBusySeconds(loadCpus) - loadBefore,
  };
}

/** CONNECT + TLS handshake + one small GET + close, 32 at a time, `seconds` a turn. */
export function setupTurns(target: Target, originPort: number, sizes: Sizes, seconds: number): Turns<Slice> {
  const setups = (duration: number): Promise<HeyResult> => runHey({ ...urlFor(target, originPort, '/hello'), concurrency: 32, durationSeconds: duration, keepAlive: false });
  return {
    warmUp: async () => {
      await setups(sizes.warmupSeconds);
    },
    take: () => slice(target, () => setups(seconds)),
    close: () => undefined,
  };
}

/** 64 tunnels, opened first (not timed), doing small GETs back to back, `seconds` a turn. */
export async function requestTurns(target: Target, originPort: number, sizes: Sizes, seconds: number): Promise<Turns<Slice>> {
  const sessions = await openSessions(target.path, originPort, 64);
  const live = (): TLSSocket[] => sessions.filter((session) => !session.destroyed);
  return {
    warmUp: async () => {
      await driveSessions(live(), sizes.warmupSeconds);
    },
    take: () => slice(target, () => driveSessions(live(), seconds)),
    close: () => closeSessions(sessions),
  };
}

/**
 * The same 64 tunnels at a fixed, modest rate, so latency shows the cost a request pays for the path
 * rather than the queue a saturated machine builds.
 */
export function requestLatency(target: Target, originPort: number, sizes: Sizes): Promise<HeyResult> {
  return runRequests(target.path, originPort, { sessions: 64, seconds: sizes.latencySeconds, ratePerSession: sizes.latencyRatePerTunnel });
}

export interface Bulk {
  readonly downloadMBps: number;
  readonly uploadMBps: number;
  readonly errors: number;
  /** CPU seconds the path's server used per GB of the downloads (undefined for the direct path). */
  readonly cpuSecondsPerGB: number | undefined;
  /** Seconds the load CPUs were busy per GB of the downloads (undefined when nothing is pinned). */
  readonly loadCpuSecondsPerGB: number | undefined;
}

/** The body `bulk` uploads, written once into `dir`. */
export async function writeUploadBody(dir: string, sizes: Sizes): Promise<string> {
  const body = join(dir, 'upload.bin');
  await writeFile(body, Buffer.alloc(sizes.bulkBytes, 0x62));
  return body;
}

/**
 * Downloads in parallel tunnels, with the server's CPU time over them (its whole process tree) and the load
 * CPUs' busy time; then one upload.
 */
async function bulk(target: Target, originPort: number, sizes: Sizes, uploadBody: string): Promise<Bulk> {
  const { result: down, cpu, loadCpu } = await slice(target, () =>
    runHey({ ...urlFor(target, originPort, `/bytes?n=${sizes.bulkBytes}`), concurrency: sizes.downloads, requests: sizes.downloads, keepAlive: true, timeoutSeconds: 300 }),
  );
  const gigabytes = (sizes.downloads * sizes.bulkBytes) / 1e9;
  const up = await runHey({ ...urlFor(target, originPort, '/sha256'), concurrency: 1, requests: 1, keepAlive: true, method: 'POST', bodyFile: uploadBody, timeoutSeconds: 300 });
  return {
    downloadMBps: (gigabytes * 1e3) / down.totalSeconds,
    uploadMBps: sizes.bulkBytes / 1e6 / up.totalSeconds,
    errors: down.errors + up.errors + (sizes.downloads - down.requests) + (1 - up.requests),
    cpuSecondsPerGB: cpu === undefined ? undefined : cpu / gigabytes,
    loadCpuSecondsPerGB: loadCpu === undefined ? undefined : loadCpu / gigabytes,
  };
}

/** The bulk transfers, once a turn; no warm-up (a transfer's first second is a fraction of it). */
export function bulkTurns(target: Target, originPort: number, sizes: Sizes, uploadBody: string): Turns<Bulk> {
  return { warmUp: () => Promise.resolve(), take: () => bulk(target, originPort, sizes, uploadBody), close: () => undefined };
}

export interface Memory {
  readonly idleMB: number;
  /** KB of the server's resident memory per idle tunnel. */
  readonly kbPerTunnel: number;
}

async function settledRss(pid: number, settleMs: number): Promise<number> {
  await sleep(settleMs);
  return treeRssBytes(pid);
}

/** The server's resident memory idle, then holding `count` idle TLS tunnels: the growth per tunnel. */
export async function memory(target: Target & { pid: number }, originPort: number, count: number, sizes: Sizes): Promise<Memory> {
  const idle = await settledRss(target.pid, sizes.settleMs);
  const sessions = await openSessions(target.path, originPort, count);
  try {
    const holding = await settledRss(target.pid, sizes.settleMs);
    return { idleMB: idle / 1e6, kbPerTunnel: (holding - idle) / 1024 / count };
  } finally {
    closeSessions(sessions);
  }
}

/** `agents` simulated agents, each from its own source address, uploading on the path. */
export function agents(target: Target, originPort: number, count: number, sizes: Sizes): Promise<AgentRun> {
  const { loadCpus } = target;
  const loadBusySeconds = loadCpus === undefined ? undefined : (): number => cpusBusySeconds(loadCpus);
  return runAgents(target.path, originPort, { agents: count, uploadBytes: sizes.uploadBytes, periodMs: sizes.agentPeriodMs, rounds: sizes.agentRounds, loadBusySeconds });
}
