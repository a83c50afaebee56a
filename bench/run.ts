// `npm run bench`: starts a TLS origin, the gateway (workers: auto) and Squid on loopback, measures each path
// and the direct connection with the same load generators, prints the table and writes it with the
// machine's description to bench/results/<date>.md and .json.
//   node dist/bench/run.js [--smoke] [--out DIR] [--profile]
// --smoke: tiny sizes, seconds in all (CI); --profile: the gateway runs under --cpu-prof and the table is
// followed by its top functions.

import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { agentSearch, bulk, memory, requestLatency, requestRate, setupRate, type Sizes, type Target } from './phases.js';
import { topFrames } from './profile.js';
import { machineLines, markdownTable, textTable, type Figure, type Machine, type PathName } from './report.js';
import { squidVersion, startGateway, startOrigin, startSquid, type Server } from './servers.js';

const FULL: Sizes = {
  setupSeconds: 8,
  rpsSeconds: 8,
  latencySeconds: 6,
  latencyRatePerTunnel: 10,
  bulkBytes: 100_000_000,
  downloads: 8,
  idleTunnels: [1_000, 10_000],
  settleMs: 2_000,
  agentSteps: [1_000, 2_000, 5_000, 8_000],
  agentPeriodMs: 6_000,
  agentRounds: 2,
  uploadBytes: 200 * 1024,
};

const SMOKE: Sizes = {
  setupSeconds: 1,
  rpsSeconds: 1,
  latencySeconds: 1,
  latencyRatePerTunnel: 10,
  bulkBytes: 2_000_000,
  downloads: 2,
  idleTunnels: [20, 100],
  settleMs: 200,
  agentSteps: [20],
  agentPeriodMs: 500,
  agentRounds: 2,
  uploadBytes: 200 * 1024,
};

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

async function describeMachine(workers: string): Promise<Machine> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  return {
    os: /PRETTY_NAME="([^"]+)"/.exec(osRelease)?.[1] ?? process.platform,
    kernel: release(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    squid: squidVersion(),
    hey: command('dpkg-query', ['-W', '-f=${Version}', 'hey']),
    openFilesLimit: /Max open files\s+(\d+)\s+(\d+)/.exec(limits)?.slice(1).join(' / ') ?? 'unknown',
    gatewayWorkers: workers,
    pinning:
      availableParallelism() > 2
        ? 'none'
        : 'none: with 2 cores the proxy (2 workers), the origin (2 processes) and the load generator share both; ' +
          'pinning the generator to one core would halve what the proxy may use, so all paths are measured under the same sharing',
    loadAverage: (loadavg()[0] ?? 0).toFixed(2),
  };
}

function figures(results: Results): Figure[] {
  const { setup, rps, latency, bulk: bulkResults, memory: mem, agents } = results;
  const get = <T>(record: Partial<Record<PathName, T>>, pick: (value: T) => number | undefined): Partial<Record<PathName, number>> =>
    Object.fromEntries(Object.entries(record).map(([path, value]) => [path, pick(value as T)])) as Partial<Record<PathName, number>>;
  const val = (values: Partial<Record<PathName, number>>, path: PathName): number | undefined => values[path];
  const atLeast = (values: Partial<Record<PathName, number>>, path: PathName, factor: number): boolean | undefined => {
    const gateway = val(values, 'gateway');
    const other = val(values, path);
    return gateway === undefined || other === undefined ? undefined : gateway >= factor * other;
  };
  const setupRate = get(setup, (r) => r.requests / r.totalSeconds);
  const reqRate = get(rps, (r) => r.requestsPerSecond);
  const p99 = get(latency, (r) => r.p99Ms);
  const added = (path: PathName): number | undefined => {
    const direct = p99.direct;
    const value = p99[path];
    return direct === undefined || value === undefined ? undefined : value - direct;
  };
  const download = get(bulkResults, (r) => r.downloadMBps);
  const upload = get(bulkResults, (r) => r.uploadMBps);
  const cpu = get(bulkResults, (r) => r.cpuSecondsPerGB);
  const largest = Math.max(...results.sizes.idleTunnels);
  const perTunnel = get(mem, (m) => m.kbPerTunnel[largest]);
  const both = (...checks: (boolean | undefined)[]): boolean | undefined => (checks.includes(undefined) ? undefined : checks.every(Boolean));
  const gatewayPerTunnel = perTunnel.gateway;
  const cpuGateway = cpu.gateway;
  const cpuSquid = cpu.squid;
  return [
    { label: 'tunnel set-up rate', unit: 'tunnels/s', values: setupRate, better: 'higher', target: '≥ 1.5× Squid', met: atLeast(setupRate, 'squid', 1.5) },
    ...(results.setupKernel === undefined
      ? []
      : [kernelSetup(setupRate, results.setupKernel.requests / results.setupKernel.totalSeconds)]),
    { label: 'tunnel set-up p50', unit: 'ms', values: get(setup, (r) => r.p50Ms), better: 'lower' },
    { label: 'tunnel set-up p99', unit: 'ms', values: get(setup, (r) => r.p99Ms), better: 'lower' },
    { label: 'requests over 64 open tunnels', unit: 'req/s', values: reqRate, better: 'higher', target: '≥ 1.0× Squid', met: atLeast(reqRate, 'squid', 1) },
    { label: 'request p50 at a fixed rate', unit: 'ms', values: get(latency, (r) => r.p50Ms), better: 'lower' },
    { label: 'request p99 at a fixed rate', unit: 'ms', values: p99, better: 'lower' },
    {
      label: 'p99 added latency',
      unit: 'ms',
      values: { squid: added('squid'), gateway: added('gateway') },
      better: 'lower',
      target: '≤ 1 ms',
      met: added('gateway') === undefined ? undefined : (added('gateway') ?? 0) <= 1,
    },
    { label: `bulk download, ${results.sizes.downloads} tunnels`, unit: 'MB/s', values: download, better: 'higher', target: '≥ 0.9× direct, ≥ 1.0× Squid', met: both(atLeast(download, 'direct', 0.9), atLeast(download, 'squid', 1)) },
    { label: 'bulk upload, 1 tunnel', unit: 'MB/s', values: upload, better: 'higher', target: '≥ 0.9× direct, ≥ 1.0× Squid', met: both(atLeast(upload, 'direct', 0.9), atLeast(upload, 'squid', 1)) },
    { label: 'CPU per GB relayed', unit: 's/GB', values: cpu, better: 'lower', target: '≤ Squid', met: cpuGateway === undefined || cpuSquid === undefined ? undefined : cpuGateway <= cpuSquid },
    { label: 'resident memory, idle', unit: 'MB', values: get(mem, (m) => m.idleMB), better: 'lower' },
    ...results.sizes.idleTunnels.map((count): Figure => ({
      label: `memory per idle tunnel at ${count.toLocaleString('en-US')}`,
      unit: 'KB',
      values: get(mem, (m) => m.kbPerTunnel[count]),
      better: 'lower',
      ...(count === largest ? { target: '≤ 10 KB', met: gatewayPerTunnel === undefined ? undefined : gatewayPerTunnel <= 10 } : {}),
    })),
    {
      label: 'agents carried (200 KB every 6 s)',
      unit: 'agents',
      values: { gateway: agents?.carried },
      better: 'higher',
      target: results.smoke ? undefined : '≥ 5,000',
      met: results.smoke || agents === undefined ? undefined : agents.carried >= 5_000,
    },
  ];
}

/** The set-up rate of a gateway with workerScheduling: kernel, beside the other paths' rates. */
function kernelSetup(rates: Partial<Record<PathName, number>>, gateway: number): Figure {
  const squid = rates.squid;
  return {
    label: 'tunnel set-up rate, workerScheduling: kernel',
    unit: 'tunnels/s',
    values: { direct: rates.direct, squid, gateway },
    better: 'higher',
    target: '≥ 1.5× Squid',
    met: squid === undefined ? undefined : gateway >= 1.5 * squid,
  };
}

interface Results {
  readonly smoke: boolean;
  readonly sizes: Sizes;
  machine: Machine;
  readonly setup: Partial<Record<PathName, Awaited<ReturnType<typeof setupRate>>>>;
  setupKernel: Awaited<ReturnType<typeof setupRate>> | undefined;
  readonly rps: Partial<Record<PathName, Awaited<ReturnType<typeof requestRate>>>>;
  readonly latency: Partial<Record<PathName, Awaited<ReturnType<typeof requestLatency>>>>;
  readonly bulk: Partial<Record<PathName, Awaited<ReturnType<typeof bulk>>>>;
  readonly memory: Partial<Record<PathName, Awaited<ReturnType<typeof memory>>>>;
  agents: Awaited<ReturnType<typeof agentSearch>> | undefined;
  /** Output of patterns.bench.js: allowlist lookup cost by number of entries. */
  readonly patterns: readonly string[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, out: { type: 'string' }, profile: { type: 'boolean' } } });
  const smoke = values.smoke === true;
  for (const tool of ['hey', 'openssl']) {
    if (command('sh', ['-c', `command -v ${tool}`]) === undefined) throw new Error(`${tool} is needed: apt-get install ${tool}`);
  }
  const sizes = smoke ? SMOKE : FULL;
  const outDir = values.out ?? fileURLToPath(new URL('../../bench/results/', import.meta.url));
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-bench-'));
  const profileDir = join(dir, 'profile');
  const servers: Server[] = [];
  const workers = 'auto';
  const results: Results = {
    smoke,
    sizes,
    machine: await describeMachine(`${workers} (${availableParallelism()})`),
    setup: {},
    setupKernel: undefined,
    rps: {},
    latency: {},
    bulk: {},
    memory: {},
    agents: undefined,
    patterns: smoke ? [] : (command(process.execPath, [fileURLToPath(new URL('./patterns.bench.js', import.meta.url))]) ?? '').split('\n').map((line) => line.trim()).filter(Boolean),
  };
  if (!smoke) progress(`allowlist lookup: ${results.patterns.join('; ')}`);
  try {
    const origin = await startOrigin(dir);
    servers.push(origin);
    const gateway = await startGateway(dir, { originPort: origin.port, workers, nodeOptions: values.profile ? [`--cpu-prof`, `--cpu-prof-dir=${profileDir}`] : [] });
    servers.push(gateway);
    const squid = results.machine.squid === undefined ? undefined : await startSquid(origin.port, availableParallelism()).catch((err: Error) => {
      progress(`Squid not measured: ${err.message}`);
      return undefined;
    });
    if (squid !== undefined) servers.push(squid);
    progress(`origin :${origin.port}, gateway :${gateway.port}${squid === undefined ? '' : `, squid :${squid.port}`}`);

    const targets: Target[] = [
      { name: 'direct', path: { name: 'direct', proxyPort: undefined }, pid: undefined },
      ...(squid === undefined ? [] : [{ name: 'squid' as const, path: { name: 'squid', proxyPort: squid.port }, pid: squid.pid }]),
      { name: 'gateway', path: { name: 'gateway', proxyPort: gateway.port }, pid: gateway.pid },
    ];
    const proxies = targets.filter((t): t is Target & { pid: number } => t.pid !== undefined);
    // Memory first, while the proxies are fresh.
    for (const target of proxies) results.memory[target.name] = await memory(target, origin.port, sizes, progress);
    for (const target of targets) {
      results.setup[target.name] = await setupRate(target, origin.port, sizes);
      progress(`set-up ${target.name}: ${(results.setup[target.name]!.requests / results.setup[target.name]!.totalSeconds).toFixed(0)} tunnels/s, ${results.setup[target.name]!.errors} errors`);
    }
    {
      // The same set-up storm against workers that accept for themselves (workerScheduling: kernel).
      const kernel = await startGateway(dir, { originPort: origin.port, workers, scheduling: 'kernel' });
      try {
        results.setupKernel = await setupRate({ name: 'gateway', path: { name: 'gateway', proxyPort: kernel.port }, pid: kernel.pid }, origin.port, sizes);
        progress(`set-up gateway (workerScheduling: kernel): ${(results.setupKernel.requests / results.setupKernel.totalSeconds).toFixed(0)} tunnels/s, ${results.setupKernel.errors} errors`);
      } finally {
        await kernel.stop();
      }
    }
    for (const target of targets) {
      // Let the previous phase's connections and queues drain, so they are not charged to this one.
      await sleep(sizes.settleMs);
      results.rps[target.name] = await requestRate(target, origin.port, sizes);
      await sleep(sizes.settleMs);
      results.latency[target.name] = await requestLatency(target, origin.port, sizes);
      progress(`requests ${target.name}: ${results.rps[target.name]!.requestsPerSecond.toFixed(0)} req/s; p99 at a fixed rate ${results.latency[target.name]!.p99Ms.toFixed(2)} ms`);
    }
    for (const target of targets) {
      results.bulk[target.name] = await bulk(target, origin.port, sizes, dir);
      const b = results.bulk[target.name]!;
      progress(`bulk ${target.name}: download ${b.downloadMBps.toFixed(0)} MB/s, upload ${b.uploadMBps.toFixed(0)} MB/s, ${b.errors} errors`);
    }
    const direct = targets[0];
    const gatewayTarget = targets.at(-1);
    if (direct !== undefined && gatewayTarget !== undefined) results.agents = await agentSearch(direct, gatewayTarget, origin.port, sizes, progress);
  } finally {
    for (const server of servers.reverse()) await server.stop();
  }

  const machine: Machine = { ...results.machine, loadAverage: `${results.machine.loadAverage} / ${(loadavg()[0] ?? 0).toFixed(2)}` };
  results.machine = machine;
  const table = figures(results);
  const frames = values.profile ? await topFrames(profileDir) : [];
  const profileText = frames.map((f) => `${f.selfPercent.toFixed(1).padStart(5)} %  ${f.frame}`).join('\n');
  process.stdout.write(`\n${textTable(table)}\n\n${machineLines(results.machine)}\n`);
  if (profileText !== '') process.stdout.write(`\ngateway CPU profile, self time:\n${profileText}\n`);

  const date = new Date().toISOString().slice(0, 10);
  const name = smoke ? `${date}-smoke` : date;
  await mkdir(outDir, { recursive: true });
  const markdown = [
    `# oms-gateway benchmark, ${date}${smoke ? ' (smoke sizes)' : ''}`,
    '',
    machineLines(results.machine),
    '',
    markdownTable(table),
    '',
    `Allowlist lookup (bench/patterns.bench.ts): ${results.patterns.join('; ')}.`,
    ...(results.agents === undefined ? [] : ['', 'Agent steps:', '', ...results.agents.steps.map((s) => `- ${s.agents}: direct p99 ${s.direct.p99Ms.toFixed(1)} ms, gateway p99 ${s.gateway.p99Ms.toFixed(1)} ms, errors ${s.direct.errors}/${s.gateway.errors} → ${s.passed ? 'carried' : 'not carried'}`)]),
    ...(profileText === '' ? [] : ['', 'Gateway CPU profile (self time):', '', '```', profileText, '```']),
    '',
  ].join('\n');
  await writeFile(join(outDir, `${name}.md`), markdown);
  await writeFile(join(outDir, `${name}.json`), `${JSON.stringify({ ...results, figures: table, profile: frames }, null, 2)}\n`);
  progress(`written ${join(outDir, `${name}.md`)} and .json in ${Math.round((Date.now() - started) / 1000)} s`);
  await rm(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
