// The figure groups a run goes through (--only picks them): what each measures on every path, one fresh
// origin and proxy per measurement, and the figures it adds to the samples.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentRun } from './agents.js';
import { agents, bulk, memory, requestLatency, requestRate, setupRate, type Sizes, type Target } from './phases.js';
import { startGateway, startOrigin, startPipeRelay, startSquid, type Certificate, type Server } from './servers.js';
import { addSample, idleFigure, PATH_TITLES, type FigureDef, type PathName, type Samples } from './summary.js';

export const GROUPS = ['setup', 'requests', 'latency', 'bulk', 'memory', 'agents'] as const;
export type Group = (typeof GROUPS)[number];
/** The fixed-rate latency is no target's and costs a minute a run: asked for with --only. */
export const DEFAULT_GROUPS: readonly Group[] = ['setup', 'requests', 'bulk', 'memory', 'agents'];

export interface Context {
  readonly dir: string;
  readonly progress: (line: string) => void;
  readonly sizes: Sizes;
  /** taskset CPU list of the proxy under test; undefined: not pinned. */
  readonly proxyCpus: string | undefined;
  readonly paths: readonly PathName[];
  readonly idleCounts: readonly number[];
  readonly originCertificate: Certificate;
  readonly gatewayCertificate: Certificate;
  readonly uploadBody: string;
  readonly gatewayNodeOptions: readonly string[];
  readonly gatewayWorkers: number;
  /** Where the gateway's CPU profiles go (node --cpu-prof), a folder per path; undefined: not profiled. */
  readonly profileDir: string | undefined;
  readonly samples: Samples;
  /** What went wrong in which measurement: the figure has no value for that run. */
  readonly notes: string[];
  /** Every agent run, for the results file. */
  readonly agentRuns: (AgentRun & { readonly run: number; readonly path: PathName })[];
}

function startProxy(context: Context, path: PathName, originPort: number): Promise<Server | undefined> {
  const cpus = context.proxyCpus;
  switch (path) {
    case 'direct':
      return Promise.resolve(undefined);
    case 'pipe':
      return startPipeRelay(cpus);
    case 'squid':
      return startSquid(originPort, cpus);
    case 'gateway':
    case 'gatewayTls': {
      const profile = context.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(context.profileDir, path)}`];
      return startGateway(context.dir, { originPort, certificate: context.gatewayCertificate, cpus, nodeOptions: [...context.gatewayNodeOptions, ...profile], workers: context.gatewayWorkers });
    }
  }
}

/**
 * One measurement on one path against a fresh origin and a fresh proxy, stopped after it. A failure is
 * noted and leaves the figure without a value for this run rather than ending the benchmark.
 */
async function measure<T>(context: Context, run: number, what: string, path: PathName, fn: (target: Target, originPort: number) => Promise<T>): Promise<T | undefined> {
  const servers: Server[] = [];
  try {
    const origin = await startOrigin(context.originCertificate);
    servers.push(origin);
    const proxy = await startProxy(context, path, origin.port);
    if (proxy !== undefined) servers.push(proxy);
    const proxyPort = path === 'gatewayTls' ? proxy?.tlsPort : proxy?.port;
    return await fn({ name: path, path: { name: path, proxyPort, proxyTls: path === 'gatewayTls' }, pid: proxy?.pid }, origin.port);
  } catch (err) {
    const note = `run ${run}, ${what}, ${PATH_TITLES[path]}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    context.notes.push(note);
    context.progress(note);
    return undefined;
  } finally {
    for (const server of servers.reverse()) await server.stop();
    // Let the stopped processes' sockets close before the next measurement opens its own.
    await sleep(context.sizes.pauseMs);
  }
}

/** Notes a measurement that completed with failed requests: its figure stands, the note says what it hides. */
function noteErrors(context: Context, run: number, what: string, path: PathName, errors: number): void {
  if (errors > 0) context.notes.push(`run ${run}, ${what}, ${PATH_TITLES[path]}: ${errors} failed`);
}

function cpuText(msPerThousand: number | undefined): string {
  return msPerThousand === undefined ? 'no proxy' : `proxy CPU ${msPerThousand.toFixed(0)} ms per 1,000`;
}

type GroupRunner = (context: Context, run: number) => Promise<void>;

export const RUNNERS: Readonly<Record<Group, GroupRunner>> = {
  async setup(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'set-up', path, (target, port) => setupRate(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'setup', path, result.requests / result.totalSeconds);
      if (result.cpuMsPerThousand !== undefined) addSample(context.samples, 'setupCpu', path, result.cpuMsPerThousand);
      noteErrors(context, run, 'set-up', path, result.errors);
      context.progress(`run ${run} set-up ${PATH_TITLES[path]}: ${(result.requests / result.totalSeconds).toFixed(0)} tunnels/s (${cpuText(result.cpuMsPerThousand)}), ${result.errors} errors`);
    }
  },
  async requests(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'requests', path, (target, port) => requestRate(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'requests', path, result.requestsPerSecond);
      if (result.cpuMsPerThousand !== undefined) addSample(context.samples, 'requestsCpu', path, result.cpuMsPerThousand);
      noteErrors(context, run, 'requests', path, result.errors);
      context.progress(`run ${run} requests ${PATH_TITLES[path]}: ${result.requestsPerSecond.toFixed(0)} req/s (${cpuText(result.cpuMsPerThousand)}), ${result.errors} errors`);
    }
  },
  async latency(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'latency', path, (target, port) => requestLatency(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'latencyP50', path, result.p50Ms);
      addSample(context.samples, 'latencyP99', path, result.p99Ms);
      noteErrors(context, run, 'latency', path, result.errors);
      context.progress(`run ${run} latency ${PATH_TITLES[path]}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    }
  },
  async bulk(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'bulk', path, (target, port) => bulk(target, port, context.sizes, context.uploadBody));
      if (result === undefined) continue;
      addSample(context.samples, 'bulk', path, result.downloadMBps);
      addSample(context.samples, 'upload', path, result.uploadMBps);
      if (result.cpuSecondsPerGB !== undefined) addSample(context.samples, 'cpuPerGB', path, result.cpuSecondsPerGB);
      noteErrors(context, run, 'bulk', path, result.errors);
      context.progress(`run ${run} bulk ${PATH_TITLES[path]}: download ${result.downloadMBps.toFixed(0)} MB/s (${result.cpuSecondsPerGB?.toFixed(2) ?? '–'} CPU s/GB), upload ${result.uploadMBps.toFixed(0)} MB/s, ${result.errors} errors`);
    }
  },
  async memory(context, run) {
    for (const count of context.idleCounts) {
      for (const path of context.paths.filter((p) => p !== 'direct')) {
        const result = await measure(context, run, `${count} idle tunnels`, path, (target, port) =>
          target.pid === undefined ? Promise.reject(new Error('no proxy process')) : memory({ ...target, pid: target.pid }, port, count, context.sizes),
        );
        if (result === undefined) continue;
        addSample(context.samples, idleFigure(count), path, result.kbPerTunnel);
        if (count === context.idleCounts[0]) addSample(context.samples, 'idleMB', path, result.idleMB);
        context.progress(`run ${run} ${PATH_TITLES[path]}: ${count} idle tunnels → ${result.kbPerTunnel.toFixed(1)} KB each`);
      }
    }
  },
  async agents(context, run) {
    // Each step on every path still carrying; carried: no failed upload and p99 within 2× the direct path's.
    const carried = new Map<PathName, number>(context.paths.map((path) => [path, 0]));
    let remaining = [...context.paths];
    for (const [index, count] of context.sizes.agentSteps.entries()) {
      let directP99: number | undefined;
      const passed: PathName[] = [];
      for (const path of remaining) {
        const result = await measure(context, run, `${count} agents`, path, (target, port) => agents(target, port, count, context.sizes));
        if (result === undefined) continue;
        context.agentRuns.push({ run, path, ...result });
        if (index === 0) addSample(context.samples, 'agentsP99', path, result.p99Ms);
        if (path === 'direct') directP99 = result.p99Ms;
        const ok = result.errors === 0 && (path === 'direct' || (directP99 !== undefined && result.p99Ms <= 2 * directP99));
        if (ok) {
          carried.set(path, count);
          passed.push(path);
        }
        context.progress(
          `run ${run} agents ${count} ${PATH_TITLES[path]}: p99 ${result.p99Ms.toFixed(1)} ms, ${result.errors} errors` +
            `${result.firstError === undefined ? '' : ` (${result.firstError})`} → ${ok ? 'carried' : 'not carried'}`,
        );
      }
      remaining = passed;
    }
    for (const [path, count] of carried) addSample(context.samples, 'agentsCarried', path, count);
  },
};

export function figureDefs(groups: readonly Group[], sizes: Sizes, idleCounts: readonly number[]): FigureDef[] {
  const proxiesOnly = { notApplicable: ['direct'] as const };
  const count = (n: number): string => n.toLocaleString('en-US');
  const defs: Readonly<Record<Group, readonly FigureDef[]>> = {
    setup: [
      { id: 'setup', label: 'tunnel set-ups', unit: 'tunnels/s' },
      { id: 'setupCpu', label: 'proxy CPU per 1,000 tunnel set-ups', unit: 'ms', ...proxiesOnly },
    ],
    requests: [
      { id: 'requests', label: 'requests over 64 open tunnels', unit: 'req/s' },
      { id: 'requestsCpu', label: 'proxy CPU per 1,000 requests over open tunnels', unit: 'ms', ...proxiesOnly },
    ],
    latency: [
      { id: 'latencyP50', label: `request p50 at ${sizes.latencyRatePerTunnel}/s per tunnel`, unit: 'ms' },
      { id: 'latencyP99', label: `request p99 at ${sizes.latencyRatePerTunnel}/s per tunnel`, unit: 'ms' },
    ],
    bulk: [
      { id: 'bulk', label: `bulk download, ${sizes.downloads} tunnels × ${count(sizes.bulkBytes / 1e6)} MB`, unit: 'MB/s' },
      { id: 'cpuPerGB', label: 'proxy CPU per GB of bulk download', unit: 's/GB', ...proxiesOnly },
      { id: 'upload', label: `bulk upload, 1 tunnel × ${count(sizes.bulkBytes / 1e6)} MB`, unit: 'MB/s' },
    ],
    memory: [
      { id: 'idleMB', label: 'resident memory, idle', unit: 'MB', ...proxiesOnly },
      ...idleCounts.map((n): FigureDef => ({ id: idleFigure(n), label: `memory per idle tunnel at ${count(n)}`, unit: 'KB', ...proxiesOnly })),
    ],
    agents: [
      { id: 'agentsP99', label: `agents' p99 upload at ${count(sizes.agentSteps[0] ?? 0)} (${sizes.uploadBytes / 1024} KB every ${sizes.agentPeriodMs / 1000} s)`, unit: 'ms' },
      { id: 'agentsCarried', label: `agents carried (tried: ${sizes.agentSteps.map(count).join(', ')})`, unit: 'agents', whole: true },
    ],
  };
  return groups.flatMap((group) => defs[group]);
}
