// `npm run bench`: measures the direct path, the 20-line pipe relay, Squid and the gateway (its plain and its
// https:// listener) with the same load generators on loopback, prints every figure's median and spread
// over the runs and every target of issue 14 as met or not, and writes them with the machine's description
// to bench/results/<date>-<shortsha>.md and .json.
//   node dist/bench/run.js [--only setup,requests,latency,bulk,memory,agents] [--runs N] [--quick] [--out DIR] [--profile]
// --quick (or --smoke): tiny sizes, one run unless --runs says otherwise, a minute or two in all (CI);
// --profile: the gateway runs under --cpu-prof and the tables are followed by its top functions.
//
// The proxy under test runs alone on CPU 0 (taskset), the origin and the load generator on the others; the
// runs go round the paths in turn (direct, pipe, Squid, gateway, gateway https://, then again), so drift
// hits all alike, and every measurement starts a fresh origin and a fresh proxy: an origin's state after
// thousands of TLS sessions swung later figures tenfold.

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { agents, bulk, memory, requestLatency, requestRate, setupRate, writeUploadBody, type Sizes, type Target } from './phases.js';
import { topFrames } from './profile.js';
import { machineLines, markdownFigures, markdownTargets, textFigures, textTargets, type Machine } from './report.js';
import { makeCertificate, openFilesLimit, squidVersion, startGateway, startOrigin, startPipeRelay, startSquid, type Certificate, type Server } from './servers.js';
import { addSample, evaluateTargets, idleFigure, issueTargets, PATHS, PATH_TITLES, summarise, type FigureDef, type PathName, type Samples } from './summary.js';

const FULL: Sizes = {
  setupSeconds: 8,
  rpsSeconds: 8,
  latencySeconds: 6,
  latencyRatePerTunnel: 10,
  bulkBytes: 100_000_000,
  downloads: 8,
  idleTunnels: [1_000, 10_000],
  settleMs: 2_000,
  pauseMs: 500,
  agentSteps: [5_000, 8_000],
  agentPeriodMs: 6_000,
  agentRounds: 2,
  uploadBytes: 200 * 1024,
};

const QUICK: Sizes = {
  setupSeconds: 1,
  rpsSeconds: 1,
  latencySeconds: 1,
  latencyRatePerTunnel: 10,
  bulkBytes: 2_000_000,
  downloads: 2,
  idleTunnels: [20, 100],
  settleMs: 200,
  pauseMs: 100,
  agentSteps: [20, 40],
  agentPeriodMs: 500,
  agentRounds: 2,
  uploadBytes: 200 * 1024,
};

const GROUPS = ['setup', 'requests', 'latency', 'bulk', 'memory', 'agents'] as const;
type Group = (typeof GROUPS)[number];
/** The fixed-rate latency is no target's and costs a minute a run: asked for with --only. */
const DEFAULT_GROUPS: readonly Group[] = ['setup', 'requests', 'bulk', 'memory', 'agents'];
/** Descriptors a proxy process holds besides its two per tunnel (listeners, log, metrics, its runtime). */
const DESCRIPTOR_RESERVE = 100;

const started = Date.now();
const progress = (line: string): void => {
  const elapsed = Math.round((Date.now() - started) / 1000);
  process.stderr.write(`[bench ${String(Math.floor(elapsed / 60)).padStart(2, '0')}:${String(elapsed % 60).padStart(2, '0')}] ${line}\n`);
};

function command(file: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

interface Pinning {
  /** taskset CPU list of the proxy under test, and of everything else; undefined: nothing pinned. */
  readonly proxy: string | undefined;
  readonly rest: string | undefined;
  readonly description: string;
}

/** The proxy on CPU 0, the benchmark itself (and so the origin and load generators it starts) on the rest. */
function pin(): Pinning {
  const cores = availableParallelism();
  const taskset = command('sh', ['-c', 'command -v taskset']) !== undefined;
  if (cores < 2 || !taskset) {
    const why = cores < 2 ? `${cores} CPU available` : 'taskset is not installed (util-linux)';
    return { proxy: undefined, rest: undefined, description: `none: ${why}; the proxy, the origin and the load generator share the CPUs` };
  }
  const rest = cores === 2 ? '1' : `1-${cores - 1}`;
  if (command('taskset', ['-a', '-p', '-c', rest, String(process.pid)]) === undefined) {
    return { proxy: undefined, rest: undefined, description: 'none: taskset could not pin the benchmark; the proxy, the origin and the load generator share the CPUs' };
  }
  return { proxy: '0', rest, description: `the proxy under test on CPU 0, the origin and the load generator on CPU ${rest}` };
}

async function describeMachine(pinning: Pinning): Promise<Machine> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  return {
    os: /PRETTY_NAME="([^"]+)"/.exec(osRelease)?.[1] ?? process.platform,
    kernel: release(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    squid: squidVersion(),
    hey: command('dpkg-query', ['-W', '-f=${Version}', 'hey']),
    openFilesLimit: /Max open files\s+(\d+)\s+(\d+)/.exec(limits)?.slice(1).join(' / ') ?? 'unknown',
    pinning: pinning.description,
    loadAverage: (loadavg()[0] ?? 0).toFixed(2),
  };
}

interface Context {
  readonly dir: string;
  readonly sizes: Sizes;
  readonly pinning: Pinning;
  readonly paths: readonly PathName[];
  readonly idleCounts: readonly number[];
  readonly originCertificate: Certificate;
  readonly gatewayCertificate: Certificate;
  readonly uploadBody: string;
  readonly gatewayNodeOptions: readonly string[];
  readonly samples: Samples;
  /** What went wrong in which measurement: the figure has no value for that run. */
  readonly notes: string[];
  /** Every agent run, for the results file. */
  readonly agentRuns: Record<string, unknown>[];
}

function startProxy(context: Context, path: PathName, originPort: number): Promise<Server | undefined> {
  const cpus = context.pinning.proxy;
  switch (path) {
    case 'direct':
      return Promise.resolve(undefined);
    case 'pipe':
      return startPipeRelay(cpus);
    case 'squid':
      return startSquid(originPort, cpus);
    case 'gateway':
    case 'gatewayTls':
      return startGateway(context.dir, { originPort, certificate: context.gatewayCertificate, cpus, nodeOptions: context.gatewayNodeOptions });
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
    progress(note);
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

type GroupRunner = (context: Context, run: number) => Promise<void>;

const RUNNERS: Readonly<Record<Group, GroupRunner>> = {
  async setup(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'set-up', path, (target, port) => setupRate(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'setup', path, result.requests / result.totalSeconds);
      noteErrors(context, run, 'set-up', path, result.errors);
      progress(`run ${run} set-up ${PATH_TITLES[path]}: ${(result.requests / result.totalSeconds).toFixed(0)} tunnels/s, ${result.errors} errors`);
    }
  },
  async requests(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'requests', path, (target, port) => requestRate(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'requests', path, result.requestsPerSecond);
      noteErrors(context, run, 'requests', path, result.errors);
      progress(`run ${run} requests ${PATH_TITLES[path]}: ${result.requestsPerSecond.toFixed(0)} req/s, ${result.errors} errors`);
    }
  },
  async latency(context, run) {
    for (const path of context.paths) {
      const result = await measure(context, run, 'latency', path, (target, port) => requestLatency(target, port, context.sizes));
      if (result === undefined) continue;
      addSample(context.samples, 'latencyP50', path, result.p50Ms);
      addSample(context.samples, 'latencyP99', path, result.p99Ms);
      noteErrors(context, run, 'latency', path, result.errors);
      progress(`run ${run} latency ${PATH_TITLES[path]}: p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
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
      progress(`run ${run} bulk ${PATH_TITLES[path]}: download ${result.downloadMBps.toFixed(0)} MB/s (${result.cpuSecondsPerGB?.toFixed(2) ?? '–'} CPU s/GB), upload ${result.uploadMBps.toFixed(0)} MB/s, ${result.errors} errors`);
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
        progress(`run ${run} ${PATH_TITLES[path]}: ${count} idle tunnels → ${result.kbPerTunnel.toFixed(1)} KB each`);
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
        progress(
          `run ${run} agents ${count} ${PATH_TITLES[path]}: p99 ${result.p99Ms.toFixed(1)} ms, ${result.errors} errors` +
            `${result.firstError === undefined ? '' : ` (${result.firstError})`} → ${ok ? 'carried' : 'not carried'}`,
        );
      }
      remaining = passed;
    }
    for (const [path, count] of carried) addSample(context.samples, 'agentsCarried', path, count);
  },
};

function figureDefs(groups: readonly Group[], sizes: Sizes, idleCounts: readonly number[]): FigureDef[] {
  const proxiesOnly = { notApplicable: ['direct'] as const };
  const count = (n: number): string => n.toLocaleString('en-US');
  const defs: Readonly<Record<Group, readonly FigureDef[]>> = {
    setup: [{ id: 'setup', label: 'tunnel set-ups', unit: 'tunnels/s' }],
    requests: [{ id: 'requests', label: 'requests over 64 open tunnels', unit: 'req/s' }],
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
      { id: 'agentsCarried', label: `agents carried (tried: ${sizes.agentSteps.map(count).join(', ')})`, unit: 'agents' },
    ],
  };
  return groups.flatMap((group) => defs[group]);
}

function parseGroups(only: string | undefined): Group[] {
  if (only === undefined) return [...DEFAULT_GROUPS];
  const names = only.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(GROUPS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown figure ${unknown.join(', ')}; choose from ${GROUPS.join(', ')}`);
  return GROUPS.filter((group) => names.includes(group));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean' },
      smoke: { type: 'boolean' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
    },
  });
  const quick = values.quick === true || values.smoke === true;
  const groups = parseGroups(values.only);
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: a whole number of at least 1, not ${values.runs}`);
  for (const tool of ['hey', 'openssl']) {
    if (command('sh', ['-c', `command -v ${tool}`]) === undefined) throw new Error(`${tool} is needed: apt-get install ${tool}`);
  }
  const sizes = quick ? QUICK : FULL;
  const pinning = pin();
  const machine = await describeMachine(pinning);
  progress(`pinning: ${pinning.description}`);
  // Two descriptors per tunnel in one proxy process: more tunnels than the limit allows are not measured.
  const limit = await openFilesLimit();
  const maxTunnels = limit === undefined ? Infinity : Math.floor((limit - DESCRIPTOR_RESERVE) / 2);
  const idleCounts = sizes.idleTunnels.map((n) => Math.min(n, maxTunnels));
  const outDir = values.out ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-bench-'));
  const profileDir = join(dir, 'profile');
  const notes: string[] = [];
  if (machine.squid === undefined) notes.push('Squid is not installed (apt-get install squid): its column is empty');
  if (idleCounts.some((n, i) => n !== sizes.idleTunnels[i])) {
    notes.push(`${Math.max(...sizes.idleTunnels).toLocaleString('en-US')} idle tunnels need twice as many descriptors in one proxy process; the open-files limit (${limit}) allows ${maxTunnels.toLocaleString('en-US')}, measured instead`);
  }
  const context: Context = {
    dir,
    sizes,
    pinning,
    paths: PATHS.filter((path) => path !== 'squid' || machine.squid !== undefined),
    idleCounts,
    originCertificate: makeCertificate(dir, 'origin'),
    gatewayCertificate: makeCertificate(dir, 'gateway'),
    uploadBody: await writeUploadBody(dir, sizes),
    gatewayNodeOptions: values.profile === true ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    samples: {},
    notes,
    agentRuns: [],
  };
  const patterns = quick
    ? []
    : (command(process.execPath, [fileURLToPath(new URL('./patterns.bench.js', import.meta.url))]) ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
  if (patterns.length > 0) progress(`allowlist lookup: ${patterns.join('; ')}`);
  try {
    for (let run = 1; run <= runs; run += 1) {
      for (const group of groups) await RUNNERS[group](context, run);
    }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  const finished: Machine = { ...machine, loadAverage: `${machine.loadAverage} / ${(loadavg()[0] ?? 0).toFixed(2)}` };
  const figures = summarise(figureDefs(groups, sizes, idleCounts), context.samples);
  // Only the targets of the figures this run measured.
  const specs = issueTargets(idleCounts, sizes.agentSteps[0] ?? 0).filter((spec) => figures.some((f) => f.id === spec.figure));
  const targets = evaluateTargets(specs, figures);
  const frames = values.profile === true ? await topFrames(profileDir).catch(() => []) : [];
  const profileText = frames.map((f) => `${f.selfPercent.toFixed(1).padStart(5)} %  ${f.frame}`).join('\n');
  const heading = `median over ${runs} run${runs === 1 ? '' : 's'} (min–max); the https:// listener is the gateway's (Squid and the pipe relay have none)`;
  process.stdout.write(`\n${heading}\n\n${textFigures(figures)}\n\n${textTargets(targets)}\n\n${machineLines(finished)}\n`);
  if (notes.length > 0) process.stdout.write(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (profileText !== '') process.stdout.write(`\ngateway CPU profile, self time:\n${profileText}\n`);

  const date = new Date().toISOString().slice(0, 10);
  const sha = command('git', ['-C', fileURLToPath(new URL('../../', import.meta.url)), 'rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const name = `${date}-${sha}${quick ? '-quick' : ''}`;
  await mkdir(outDir, { recursive: true });
  const markdown = [
    `# oms-gateway benchmark, ${date}, ${sha}${quick ? ' (quick sizes)' : ''}`,
    '',
    machineLines(finished),
    `- figures: ${groups.join(', ')}; ${heading}`,
    `- took ${Math.round((Date.now() - started) / 60_000)} min`,
    '',
    markdownFigures(figures),
    '',
    markdownTargets(targets),
    ...(patterns.length === 0 ? [] : ['', `Allowlist lookup (bench/patterns.bench.ts): ${patterns.join('; ')}.`]),
    ...(notes.length === 0 ? [] : ['', 'Notes:', '', ...notes.map((n) => `- ${n}`)]),
    ...(profileText === '' ? [] : ['', 'Gateway CPU profile (self time):', '', '```', profileText, '```']),
    '',
  ].join('\n');
  await writeFile(join(outDir, `${name}.md`), markdown);
  const json = { date, commit: sha, quick, runs, groups, sizes, idleCounts, machine: finished, samples: context.samples, figures, targets, agentRuns: context.agentRuns, notes, patterns, profile: frames };
  await writeFile(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  progress(`written ${join(outDir, `${name}.md`)} and .json in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
