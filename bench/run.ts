// `npm run bench`: measures the direct path, the 20-line pipe relay, Squid and the gateway (its plain and its
// https:// listener) with the same load generators on loopback, prints every figure's median and spread
// over the runs and every target of issue 14 as met or not, and writes them with the machine's description
// to bench/results/<date>-<shortsha>.md and .json.
//   node dist/bench/run.js [--only setup,requests,latency,bulk,memory,agents] [--runs N] [--quick] [--out DIR] [--profile] [--workers N]
//     [--node-option=--max-semi-space-size=8 ...] [--gateway-env MALLOC_ARENA_MAX=2 ...]
// --quick (or --smoke): tiny sizes, one run unless --runs says otherwise, a minute or two in all (CI);
// --profile: the gateway runs under --cpu-prof and the tables are followed, for each of its listeners, by the
//   top functions by self time and the gateway's own by time including callees;
// --node-option: passed to the gateway's node (repeatable), to weigh a runtime setting against the same run's peers;
// --gateway-env NAME=VALUE: set in the gateway's environment only (repeatable), e.g. a glibc allocator tunable
//   (the environment the benchmark itself runs in reaches every process it starts, Squid and the origin too);
// --workers N: the gateway's `workers` setting (default 1): its supervisor and workers all on the proxy's CPUs.
//
// The proxy under test runs alone on CPU 0 (taskset), the origin and the load generator on the others; the
// runs go round the paths in turn (direct, pipe, Squid, gateway, gateway https://, then again), the set-up
// and request rates in turns of 2 s and the bulk transfers three times in turns within a run, so drift hits
// all alike, and every measurement starts a fresh origin and a fresh proxy: an origin's state after
// thousands of TLS sessions swung later figures tenfold.

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DEFAULT_GROUPS, figureDefs, GROUPS, RUNNERS, type Context, type Group } from './groups.js';
import { writeUploadBody, type Sizes } from './phases.js';
import { profileText, summariseProfiles, type ProfileSummary } from './profile.js';
import { machineLines, markdownFigures, markdownTargets, textFigures, textTargets, type Machine } from './report.js';
import { launcherNodeOptions, makeCertificate, openFilesLimit, squidVersion } from './servers.js';
import { ceilingFor } from '../src/proxy/fd-budget.js';
import { evaluateTargets, issueTargets, PATH_TITLES, PATHS, summarise, type PathName } from './summary.js';

const GATEWAY_PATHS: readonly PathName[] = ['gateway', 'gatewayTls'];

const FULL: Sizes = {
  warmupSeconds: 3,
  setupSeconds: 8,
  rpsSeconds: 8,
  sliceSeconds: 2,
  latencySeconds: 6,
  latencyRatePerTunnel: 10,
  bulkBytes: 100_000_000,
  downloads: 8,
  bulkRounds: 3,
  idleTunnels: [1_000, 10_000],
  settleMs: 2_000,
  pauseMs: 500,
  agentSteps: [5_000, 8_000],
  agentPeriodMs: 6_000,
  agentRounds: 2,
  uploadBytes: 200 * 1024,
};

const QUICK: Sizes = {
  warmupSeconds: 1,
  setupSeconds: 1,
  rpsSeconds: 1,
  // Two turns a path, as the full sizes have several: the sessions and proxies carry over between turns.
  sliceSeconds: 0.5,
  latencySeconds: 1,
  latencyRatePerTunnel: 10,
  bulkBytes: 2_000_000,
  downloads: 2,
  bulkRounds: 2,
  idleTunnels: [20, 100],
  settleMs: 200,
  pauseMs: 100,
  agentSteps: [20, 40],
  agentPeriodMs: 500,
  agentRounds: 2,
  uploadBytes: 200 * 1024,
};

/** Descriptors a proxy process holds besides its two per tunnel (listeners, log, metrics, its runtime). */
const DESCRIPTOR_RESERVE = 200;

/**
 * The most idle tunnels every proxy can hold under the open-files limit `limit`: two descriptors each and
 * a reserve, and no more than the gateway's own ceiling (src/proxy/fd-budget.ts keeps 5 % free to answer
 * refusals with; past it the gateway answers 503, as an operator's would).
 */
function tunnelsWithin(limit: number): number {
  return Math.min(Math.floor((limit - DESCRIPTOR_RESERVE) / 2), ceilingFor(limit, DESCRIPTOR_RESERVE) ?? Infinity);
}

/**
 * Raises this process's open-files limit (the proxies and the origin inherit it) so that `tunnels` idle
 * tunnels fit, where the hard limit or the privilege to raise it allows (prlimit, util-linux). Returns the
 * soft limit now in force.
 */
async function raiseOpenFiles(tunnels: number): Promise<number | undefined> {
  const limit = await openFilesLimit();
  if (limit === undefined || tunnelsWithin(limit) >= tunnels) return limit;
  let needed = limit;
  while (tunnelsWithin(needed) < tunnels) needed += 256;
  command('prlimit', ['--pid', String(process.pid), `--nofile=${needed}:${needed}`]);
  return openFilesLimit();
}

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
  /** taskset CPU list of the proxy under test; undefined: nothing pinned. */
  readonly proxy: string | undefined;
  /** The CPUs left to the benchmark, its origins and load generators; undefined: nothing pinned. */
  readonly load: readonly number[] | undefined;
  readonly description: string;
}

/** The proxy on CPU 0, the benchmark itself (and so the origin and load generators it starts) on the rest. */
function pin(): Pinning {
  const cores = availableParallelism();
  const taskset = command('sh', ['-c', 'command -v taskset']) !== undefined;
  if (cores < 2 || !taskset) {
    const why = cores < 2 ? `${cores} CPU available` : 'taskset is not installed (util-linux)';
    return { proxy: undefined, load: undefined, description: `none: ${why}; the proxy, the origin and the load generator share the CPUs` };
  }
  const rest = cores === 2 ? '1' : `1-${cores - 1}`;
  if (command('taskset', ['-a', '-p', '-c', rest, String(process.pid)]) === undefined) {
    return { proxy: undefined, load: undefined, description: 'none: taskset could not pin the benchmark; the proxy, the origin and the load generator share the CPUs' };
  }
  return { proxy: '0', load: Array.from({ length: cores - 1 }, (_, i) => i + 1), description: `the proxy under test on CPU 0, the origin and the load generator on CPU ${rest}` };
}

async function describeMachine(pinning: Pinning, gatewayNodeOptions: readonly string[], gatewayEnv: Readonly<Record<string, string>>, gatewayWorkers: number): Promise<Machine> {
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
    gatewayNodeOptions,
    gatewayEnv,
    gatewayWorkers,
    openFilesLimit: /Max open files\s+(\d+)\s+(\d+)/.exec(limits)?.slice(1).join(' / ') ?? 'unknown',
    pinning: pinning.description,
    loadAverage: (loadavg()[0] ?? 0).toFixed(2),
  };
}

/** A flag's value as a whole number of at least 1, or an error naming the flag. */
function atLeastOne(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: a whole number of at least 1, not ${value}`);
  return n;
}

function parseGroups(only: string | undefined): Group[] {
  if (only === undefined) return [...DEFAULT_GROUPS];
  const names = only.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(GROUPS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--only: unknown figure ${unknown.join(', ')}; choose from ${GROUPS.join(', ')}`);
  return GROUPS.filter((group) => names.includes(group));
}

/** --gateway-env values (NAME=VALUE) as an environment, or an error naming the one that is not. */
function environment(assignments: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const assignment of assignments) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(assignment);
    if (match === null) throw new Error(`--gateway-env: NAME=VALUE, not ${assignment}`);
    env[match[1]!] = match[2]!;
  }
  return env;
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
      'node-option': { type: 'string', multiple: true, default: [] },
      'gateway-env': { type: 'string', multiple: true, default: [] },
      workers: { type: 'string', default: '1' },
    },
  });
  const quick = values.quick === true || values.smoke === true;
  const groups = parseGroups(values.only);
  const runs = atLeastOne('--runs', values.runs ?? (quick ? '1' : '3'));
  const workers = atLeastOne('--workers', values.workers);
  const gatewayEnv = environment(values['gateway-env']);
  for (const tool of ['hey', 'openssl']) {
    if (command('sh', ['-c', `command -v ${tool}`]) === undefined) throw new Error(`${tool} is needed: apt-get install ${tool}`);
  }
  const sizes = quick ? QUICK : FULL;
  // Before the machine is described: its open-files line says what the proxies ran under.
  const limit = await raiseOpenFiles(Math.max(...sizes.idleTunnels));
  const pinning = pin();
  const machine = await describeMachine(pinning, [...launcherNodeOptions(), ...values['node-option']], gatewayEnv, workers);
  progress(`pinning: ${pinning.description}`);
  // Two descriptors per tunnel in one proxy process: more tunnels than the limit allows are not measured.
  const maxTunnels = limit === undefined ? Infinity : tunnelsWithin(limit);
  const idleCounts = sizes.idleTunnels.map((n) => Math.min(n, maxTunnels));
  const outDir = values.out ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-bench-'));
  const profileDir = join(dir, 'profile');
  const notes: string[] = [];
  if (machine.squid === undefined) notes.push('Squid is not installed (apt-get install squid): its column is empty');
  if (idleCounts.some((n, i) => n !== sizes.idleTunnels[i])) {
    notes.push(`${Math.max(...sizes.idleTunnels).toLocaleString('en-US')} idle tunnels need twice as many descriptors in one proxy process, and the open-files limit (${limit}) could not be raised: it allows ${maxTunnels.toLocaleString('en-US')}, measured instead`);
  }
  const context: Context = {
    dir,
    progress,
    sizes,
    proxyCpus: pinning.proxy,
    loadCpus: pinning.load,
    paths: PATHS.filter((path) => path !== 'squid' || machine.squid !== undefined),
    idleCounts,
    originCertificate: makeCertificate(dir, 'origin'),
    gatewayCertificate: makeCertificate(dir, 'gateway'),
    uploadBody: await writeUploadBody(dir, sizes),
    gatewayNodeOptions: values['node-option'],
    gatewayEnv,
    gatewayWorkers: workers,
    profileDir: values.profile === true ? profileDir : undefined,
    samples: {},
    notes,
    agentRuns: [],
  };
  const patterns = quick
    ? []
    : (command(process.execPath, [fileURLToPath(new URL('./patterns.bench.js', import.meta.url))]) ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
  if (patterns.length > 0) progress(`allowlist lookup: ${patterns.join('; ')}`);
  const profiles: { readonly path: PathName; readonly summary: ProfileSummary }[] = [];
  try {
    for (let run = 1; run <= runs; run += 1) {
      for (const group of groups) await RUNNERS[group](context, run);
    }
    if (values.profile === true) {
      for (const path of GATEWAY_PATHS) profiles.push({ path, summary: await summariseProfiles(join(profileDir, path)) });
    }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  const finished: Machine = { ...machine, loadAverage: `${machine.loadAverage} / ${(loadavg()[0] ?? 0).toFixed(2)}` };
  const figures = summarise(figureDefs(groups, sizes, idleCounts), context.samples);
  // Only the targets of the figures this run measured.
  const specs = issueTargets(idleCounts, sizes.agentSteps[0] ?? 0).filter((spec) => figures.some((f) => f.id === spec.figure));
  const targets = evaluateTargets(specs, figures, 'gateway', context.samples);
  const httpsTargets = evaluateTargets(specs, figures, 'gatewayTls', context.samples);
  const profileTexts = profiles.map(({ path, summary }) => `${PATH_TITLES[path]} CPU profile\n\n${profileText(summary)}`);
  const heading = `median over ${runs} run${runs === 1 ? '' : 's'} (min–max); the https:// listener is the gateway's (Squid and the pipe relay have none)`;
  process.stdout.write(`\n${heading}\n\n${textFigures(figures)}\n\n${textTargets(targets, httpsTargets)}\n\n${machineLines(finished)}\n`);
  if (notes.length > 0) process.stdout.write(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  for (const text of profileTexts) process.stdout.write(`\n${text}\n`);

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
    markdownTargets(targets, httpsTargets),
    ...(patterns.length === 0 ? [] : ['', `Allowlist lookup (bench/patterns.bench.ts): ${patterns.join('; ')}.`]),
    ...(notes.length === 0 ? [] : ['', 'Notes:', '', ...notes.map((n) => `- ${n}`)]),
    ...profileTexts.flatMap((text) => ['', '```', text, '```']),
    '',
  ].join('\n');
  await writeFile(join(outDir, `${name}.md`), markdown);
  const json = { date, commit: sha, quick, runs, groups, sizes, idleCounts, machine: finished, samples: context.samples, figures, targets, httpsTargets, agentRuns: context.agentRuns, notes, patterns, profiles };
  await writeFile(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  progress(`written ${join(outDir, `${name}.md`)} and .json in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});