// The figure groups a run goes through (--only picks them): what each measures on every path, one fresh
// origin and proxy per measurement, and the figures it adds to the samples. The set-up and request rates
// and the bulk transfers are measured on all paths in turns; idle tunnels and agents one path after another.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentRun } from './agents.js';
import { agents, bulkTurns, memory, requestLatency, requestTurns, setupTurns, type Sizes, type Slice, type Target, type Turns } from './phases.js';
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
  /** The CPUs the benchmark, the origins and the load generators are pinned to; undefined: not pinned. */
  readonly loadCpus: readonly number[] | undefined;
  readonly paths: readonly PathName[];
  readonly idleCounts: readonly number[];
  readonly originCertificate: Certificate;
  readonly gatewayCertificate: Certificate;
  readonly uploadBody: string;
  readonly gatewayNodeOptions: readonly string[];
  /** Set in the gateway's environment (--gateway-env). */
  readonly gatewayEnv: Readonly<Record<string, string>>;
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
      return startGateway(context.dir, { originPort, certificate: context.gatewayCertificate, cpus, nodeOptions: [...context.gatewayNodeOptions, ...profile], env: context.gatewayEnv, workers: context.gatewayWorkers });
    }
  }
}

/** A path's fresh origin and proxy, started together. */
interface Started {
  readonly target: Target;
  readonly originPort: number;
  /** Stops them, in the reverse order, and lets their sockets close before the next measurement opens its own. */
  stop(): Promise<void>;
}

async function startPath(context: Context, path: PathName): Promise<Started> {
  const servers: Server[] = [];
  const stop = async (): Promise<void> => {
    for (const server of servers.reverse()) await server.stop();
    await sleep(context.sizes.pauseMs);
  };
  try {
    const origin = await startOrigin(context.originCertificate);
    servers.push(origin);
    const proxy = await startProxy(context, path, origin.port);
    if (proxy !== undefined) servers.push(proxy);
    const proxyPort = path === 'gatewayTls' ? proxy?.tlsPort : proxy?.port;
    return { target: { name: path, path: { name: path, proxyPort, proxyTls: path === 'gatewayTls' }, pid: proxy?.pid, loadCpus: context.loadCpus }, originPort: origin.port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function noteFailure(context: Context, run: number, what: string, path: PathName, err: unknown): void {
  const note = `run ${run}, ${what}, ${PATH_TITLES[path]}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  context.notes.push(note);
  context.progress(note);
}

/**
 * One measurement on one path against a fresh origin and a fresh proxy, stopped after it. A failure is
 * noted and leaves the figure without a value for this run rather than ending the benchmark.
 */
async function measure<T>(context: Context, run: number, what: string, path: PathName, fn: (target: Target, originPort: number) => Promise<T>): Promise<T | undefined> {
  let started: Started | undefined;
  try {
    started = await startPath(context, path);
    return await fn(started.target, started.originPort);
  } catch (err) {
    noteFailure(context, run, what, path, err);
    return undefined;
  } finally {
    await started?.stop();
  }
}

/**
 * Measurements on every path in turns: every path's fresh origin and proxy are started and warmed up
 * together, then each path in turn takes one measurement, round after round (each round starting one path
 * later), `rounds` times; each path's results in the order taken. The machine has slow spells of a minute or
 * so (docs/performance.md): measured one path after another, a spell fell on one or two paths and decided
 * the ratio between them; in turns it falls on all of them. A path that fails is noted and has no results
 * for this run.
 */
async function inTurns<R>(context: Context, run: number, what: string, rounds: number, open: (target: Target, originPort: number) => Turns<R> | Promise<Turns<R>>): Promise<Map<PathName, R[]>> {
  interface Lane {
    readonly path: PathName;
    readonly started: Started;
    turns?: Turns<R>;
    readonly results: R[];
    failed: boolean;
  }
  const lanes: Lane[] = [];
  try {
    for (const path of context.paths) {
      let lane: Lane | undefined;
      try {
        lane = { path, started: await startPath(context, path), results: [], failed: false };
        lanes.push(lane);
        lane.turns = await open(lane.started.target, lane.started.originPort);
        await lane.turns.warmUp();
      } catch (err) {
        noteFailure(context, run, what, path, err);
        if (lane !== undefined) lane.failed = true;
      }
    }
    for (let round = 0; round < rounds; round += 1) {
      const turn = lanes.filter((lane): lane is Lane & { turns: Turns<R> } => !lane.failed && lane.turns !== undefined);
      for (let i = 0; i < turn.length; i += 1) {
        const lane = turn[(i + round) % turn.length]!;
        try {
          lane.results.push(await lane.turns.take());
        } catch (err) {
          noteFailure(context, run, what, lane.path, err);
          lane.failed = true;
        }
      }
    }
  } finally {
    for (const lane of lanes) {
      lane.turns?.close();
      await lane.started.stop();
    }
  }
  return new Map(lanes.filter((lane) => !lane.failed && lane.results.length > 0).map((lane) => [lane.path, lane.results]));
}

/** A rate measured in turns of sizes.sliceSeconds until `seconds`. */
function rateRounds(context: Context, seconds: number): { rounds: number; sliceSeconds: number } {
  const rounds = Math.max(1, Math.round(seconds / context.sizes.sliceSeconds));
  return { rounds, sliceSeconds: seconds / rounds };
}

/** Each path's slices as one rate, with what it cost the proxy, as samples of `names.figure` and `names.cpuFigure`. */
function recordRates(context: Context, run: number, slices: ReadonlyMap<PathName, readonly Slice[]>, names: { what: string; figure: string; cpuFigure: string; loadCpuFigure: string; unit: string }): void {
  for (const [path, taken] of slices) {
    const done = taken.reduce((sum, slice) => sum + slice.result.requests, 0);
    const seconds = taken.reduce((sum, slice) => sum + slice.result.totalSeconds, 0);
    const errors = taken.reduce((sum, slice) => sum + slice.result.errors, 0);
    if (seconds === 0) continue;
    const perSecond = done / seconds;
    const cpuMsPerThousand = msPerThousand(taken.map((slice) => slice.cpu), done);
    const loadMsPerThousand = msPerThousand(taken.map((slice) => slice.loadCpu), done);
    addSample(context.samples, names.figure, path, perSecond, run);
    if (cpuMsPerThousand !== undefined) addSample(context.samples, names.cpuFigure, path, cpuMsPerThousand, run);
    if (loadMsPerThousand !== undefined) addSample(context.samples, names.loadCpuFigure, path, loadMsPerThousand, run);
    noteErrors(context, run, names.what, path, errors);
    const load = loadMsPerThousand === undefined ? '' : `, load CPUs ${loadMsPerThousand.toFixed(0)} ms per 1,000`;
    context.progress(`run ${run} ${names.what} ${PATH_TITLES[path]}: ${perSecond.toFixed(0)} ${names.unit} (${cpuText(cpuMsPerThousand)}${load}), ${errors} errors`);
  }
}

/** The sum of the readings; undefined when one of them has none (a figure over part of the work would lie). */
function total(readings: readonly (number | undefined)[]): number | undefined {
  return readings.some((r) => r === undefined) ? undefined : readings.reduce<number>((sum, r) => sum + (r ?? 0), 0);
}

/** CPU milliseconds per 1,000 of `done` over the slices; undefined when a slice has no reading. */
function msPerThousand(seconds: readonly (number | undefined)[], done: number): number | undefined {
  const sum = total(seconds);
  return sum === undefined || done === 0 ? undefined : (sum * 1e6) / done;
}

/** Rates of equal amounts of work, as one: the amount over the time all of them took. */
function harmonicMean(rates: readonly number[]): number {
  return rates.length / rates.reduce((sum, rate) => sum + 1 / rate, 0);
}

/** Equal bytes in every transfer: the CPU per GB over all of them is the mean of each one's. */
function meanOf(values: readonly (number | undefined)[]): number | undefined {
  const sum = total(values);
  return sum === undefined || values.length === 0 ? undefined : sum / values.length;
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
    const { rounds, sliceSeconds } = rateRounds(context, context.sizes.setupSeconds);
    const slices = await inTurns(context, run, 'set-up', rounds, (target, port) => setupTurns(target, port, context.sizes, sliceSeconds));
    recordRates(context, run, slices, { what: 'set-up', figure: 'setup', cpuFigure: 'setupCpu', loadCpuFigure: 'setupLoadCpu', unit: 'tunnels/s' });
  },
  async requests(context, run) {
    const { rounds, sliceSeconds } = rateRounds(context, context.sizes.rpsSeconds);
    const slices = await inTurns(context, run, 'requests', rounds, (target, port) => requestTurns(target, port, context.sizes, sliceSeconds));
    recordRates(context, run, slices, { what: 'requests', figure: 'requests', cpuFigure: 'requestsCpu', loadCpuFigure: 'requestsLoadCpu', unit: 'req/s' });
  },
  async latency(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'latency', path, (target, port) => requestLatency(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'latencyP50', path, result.p50Ms, run);
      addSample(context.samples, 'latencyP99', path, result.p99Ms, run);
      noteErrors(context, run, 'latency', path, result.errors);
      context.progress(`run ${run} latency ${PATH_TITLES[path]}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
    }
  },
  async bulk(context, run) {
    const transfers = await inTurns(context, run, 'bulk', context.sizes.bulkRounds, (target, port) => bulkTurns(target, port, context.sizes, context.uploadBody));
    for (const [path, taken] of transfers) {
      const download = harmonicMean(taken.map((t) => t.downloadMBps));
      const upload = harmonicMean(taken.map((t) => t.uploadMBps));
      const cpu = meanOf(taken.map((t) => t.cpuSecondsPerGB));
      const loadCpu = meanOf(taken.map((t) => t.loadCpuSecondsPerGB));
      const errors = taken.reduce((sum, t) => sum + t.errors, 0);
      addSample(context.samples, 'bulk', path, download, run);
      addSample(context.samples, 'upload', path, upload, run);
      if (cpu !== undefined) addSample(context.samples, 'cpuPerGB', path, cpu, run);
      if (loadCpu !== undefined) addSample(context.samples, 'loadCpuPerGB', path, loadCpu, run);
      noteErrors(context, run, 'bulk', path, errors);
      context.progress(`run ${run} bulk ${PATH_TITLES[path]}: download ${download.toFixed(0)} MB/s (${cpu?.toFixed(2) ?? '–'} CPU s/GB${loadCpu === undefined ? '' : `, load CPUs ${loadCpu.toFixed(2)} s/GB`}), upload ${upload.toFixed(0)} MB/s, ${errors} errors`);
    }
  },
  async memory(context, run) {
    for (const count of context.idleCounts) {
      for (const path of context.paths.filter((p) => p !== 'direct')) {
        const result = await measure(context, run, `${count} idle tunnels`, path, (target, port) =>
          target.pid === undefined ? Promise.reject(new Error('no proxy process')) : memory({ ...target, pid: target.pid }, port, count, context.sizes),
        );
        if (result === undefined) continue;
        addSample(context.samples, idleFigure(count), path, result.kbPerTunnel, run);
        if (count === context.idleCounts[0]) addSample(context.samples, 'idleMB', path, result.idleMB, run);
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
        if (index === 0) addSample(context.samples, 'agentsP99', path, result.p99Ms, run);
        if (index === 0 && result.loadBusy !== undefined) addSample(context.samples, 'agentsLoadBusy', path, result.loadBusy, run);
        if (path === 'direct') directP99 = result.p99Ms;
        const ok = result.errors === 0 && (path === 'direct' || (directP99 !== undefined && result.p99Ms <= 2 * directP99));
        if (ok) {
          carried.set(path, count);
          passed.push(path);
        }
        context.progress(
          `run ${run} agents ${count} ${PATH_TITLES[path]}: p99 ${result.p99Ms.toFixed(1)} ms, ${result.errors} errors` +
            `${result.loadBusy === undefined ? '' : `, load CPUs ${result.loadBusy.toFixed(2)} busy`}` +
            `${result.firstError === undefined ? '' : ` (${result.firstError})`} → ${ok ? 'carried' : 'not carried'}`,
        );
      }
      remaining = passed;
    }
    for (const [path, count] of carried) addSample(context.samples, 'agentsCarried', path, count, run);
  },
};

export function figureDefs(groups: readonly Group[], sizes: Sizes, idleCounts: readonly number[]): FigureDef[] {
  const proxiesOnly = { notApplicable: ['direct'] as const };
  const count = (n: number): string => n.toLocaleString('en-US');
  const defs: Readonly<Record<Group, readonly FigureDef[]>> = {
    setup: [
      { id: 'setup', label: 'tunnel set-ups', unit: 'tunnels/s' },
      { id: 'setupCpu', label: 'proxy CPU per 1,000 tunnel set-ups', unit: 'ms', ...proxiesOnly },
      { id: 'setupLoadCpu', label: 'load CPUs per 1,000 tunnel set-ups', unit: 'ms' },
    ],
    requests: [
      { id: 'requests', label: 'requests over 64 open tunnels', unit: 'req/s' },
      { id: 'requestsCpu', label: 'proxy CPU per 1,000 requests over open tunnels', unit: 'ms', ...proxiesOnly },
      { id: 'requestsLoadCpu', label: 'load CPUs per 1,000 requests over open tunnels', unit: 'ms' },
    ],
    latency: [
      { id: 'latencyP50', label: `request p50 at ${sizes.latencyRatePerTunnel}/s per tunnel`, unit: 'ms' },
      { id: 'latencyP99', label: `request p99 at ${sizes.latencyRatePerTunnel}/s per tunnel`, unit: 'ms' },
    ],
    bulk: [
      { id: 'bulk', label: `bulk download, ${sizes.downloads} tunnels × ${count(sizes.bulkBytes / 1e6)} MB`, unit: 'MB/s' },
      { id: 'cpuPerGB', label: 'proxy CPU per GB of bulk download', unit: 's/GB', ...proxiesOnly },
      { id: 'loadCpuPerGB', label: 'load CPUs per GB of bulk download', unit: 's/GB' },
      { id: 'upload', label: `bulk upload, 1 tunnel × ${count(sizes.bulkBytes / 1e6)} MB`, unit: 'MB/s' },
    ],
    memory: [
      { id: 'idleMB', label: 'resident memory, idle', unit: 'MB', ...proxiesOnly },
      ...idleCounts.map((n): FigureDef => ({ id: idleFigure(n), label: `memory per idle tunnel at ${count(n)}`, unit: 'KB', ...proxiesOnly })),
    ],
    agents: [
      { id: 'agentsP99', label: `agents' p99 upload at ${count(sizes.agentSteps[0] ?? 0)} (${sizes.uploadBytes / 1024} KB every ${sizes.agentPeriodMs / 1000} s)`, unit: 'ms' },
      { id: 'agentsLoadBusy', label: `load CPUs busy during the uploads at ${count(sizes.agentSteps[0] ?? 0)} (1: one CPU saturated)`, unit: 'CPUs' },
      { id: 'agentsCarried', label: `agents carried (tried: ${sizes.agentSteps.map(count).join(', ')})`, unit: 'agents', whole: true },
    ],
  };
  return groups.flatMap((group) => defs[group]);
}
