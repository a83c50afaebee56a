// The processes a benchmark measurement starts on loopback: the TLS origin, the gateway (the real CLI, as an
// operator runs it, one process, a plain and an https:// listener), Squid (Debian's package) configured to
// the same allowlist, and the 20-line pipe relay. Each is stopped by the run that started it, by its process
// ID. A proxy may be pinned to a set of CPUs (taskset), apart from the origin and the load generator.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { probeConnect } from '../test/fixtures/raw-client.js';
import { workerEnvironment } from '../src/cluster/worker-env.js';

export const TARGET_HOST = 'bench.ods.opinsights.azure.com';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** The gateway's https:// listener. */
  readonly tlsPort?: number;
  stop(): Promise<void>;
}

/** `file args` under taskset on `cpus` (a taskset CPU list), or as it is when undefined. */
function pinned(cpus: string | undefined, file: string, args: readonly string[]): [string, string[]] {
  return cpus === undefined ? [file, [...args]] : ['taskset', ['-c', cpus, file, ...args]];
}

/** The soft open-files limit the benchmark's processes inherit. */
export async function openFilesLimit(): Promise<number | undefined> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const soft = /Max open files\s+(\d+)/.exec(limits)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Certificate {
  readonly keyFile: string;
  readonly certFile: string;
}

/** An ECDSA P-256 key and self-signed certificate for the target name, made with openssl, named `name`.*. */
export function makeCertificate(dir: string, name = 'origin'): Certificate {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${TARGET_HOST}`,
    '-addext', `subjectAltName=DNS:${TARGET_HOST},IP:127.0.0.1`,
  ], { stdio: 'ignore' });
  return { keyFile, certFile };
}

/** A node script of the benchmark's that prints its port on its first line of output. */
async function startScript(name: string, script: string, args: readonly string[], cpus: string | undefined): Promise<Server> {
  const [file, argv] = pinned(cpus, process.execPath, [join(REPO_ROOT, 'dist/bench', script), ...args]);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { name, pid: child.pid ?? -1, port: Number(line.toString().trim()), stop: () => stopChild(child) };
}

/** The TLS origin, one process (it shares its CPUs with the load generator). */
export function startOrigin(certificate: Certificate): Promise<Server> {
  return startScript('origin', 'origin-main.js', [certificate.keyFile, certificate.certFile, '1'], undefined);
}

/** The 20-line pipe() relay (bench/pipe-relay.ts), the target name mapped to the origin's address. */
export function startPipeRelay(cpus: string | undefined): Promise<Server> {
  return startScript('pipe', 'pipe-relay.js', [`${TARGET_HOST}=127.0.0.1`], cpus);
}

export interface GatewayOptions {
  readonly originPort: number;
  /** The https:// listener's certificate. */
  readonly certificate: Certificate;
  readonly cpus: string | undefined;
  /** Extra node options for the gateway's process, e.g. --cpu-prof. */
  readonly nodeOptions?: readonly string[];
  /** Set in its environment, over the benchmark's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Its `workers` setting; 1 (no supervisor) by default. All of them share the proxy's CPUs. */
  readonly workers?: number;
}

/**
 * The node options the gateway's launchers give it (`npm start`, the systemd unit, the container's entrypoint,
 * the CLI's shebang; test/deploy/node-options.test.ts keeps them one list), read from `npm start`, so the
 * gateway is measured as it is run. A --node-option given to the benchmark comes after them and wins.
 */
export function launcherNodeOptions(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  return nodeOptionsOf(scripts.start.split(/\s+/));
}

/** The words between the node binary and the script of a command line (`node <options> <script>.js ...`). */
export function nodeOptionsOf(words: readonly string[]): string[] {
  const script = words.findIndex((word) => word.endsWith('.js'));
  if (script < 1) throw new Error(`no node script in: ${words.join(' ')}`);
  return words.slice(1, script);
}

/**
 * The gateway CLI (workers: 1 unless `workers` says otherwise) with the benchmark's allowlist entry and mapping, a plain and an https://
 * listener; its audit log goes to a file, its configuration and log in a new folder under `parent`.
 */
export async function startGateway(parent: string, options: GatewayOptions): Promise<Server> {
  // A folder of its own: measurements in turns run two gateways at once.
  const dir = await mkdtemp(join(parent, 'gateway-'));
  const log = join(dir, 'gateway.log');
  await writeFile(log, '');
  const config = join(dir, 'gateway.yaml');
  const port = await freePort();
  const tlsPort = await freePort();
  await writeFile(config, [
    `workers: ${options.workers ?? 1}`,
    'listen:',
    `  - 127.0.0.1:${port}`,
    `  - address: 127.0.0.1:${tlsPort}`,
    '    tls:',
    `      cert: ${options.certificate.certFile}`,
    `      key: ${options.certificate.keyFile}`,
    // The benchmark's idle tunnels all come from 127.0.0.1.
    'limits:',
    '  maxConnections: 100000',
    '  maxConnectionsPerClient: 0',
    'log:',
    `  file: ${log}`,
    // Log writes in blocks (log.bufferBytes), as docs/configuration.md advises for hundreds of tunnels a second.
    '  bufferBytes: 4096',
    '',
  ].join('\n'));
  const [file, args] = pinned(options.cpus, process.execPath, [
    ...launcherNodeOptions(),
    ...(options.nodeOptions ?? []),
    join(REPO_ROOT, 'dist/src/cli/main.js'), 'start', '--config', config, '--metrics-listen', '127.0.0.1:0',
    '--allow-host', `${TARGET_HOST}:${options.originPort}`, '--resolve', `${TARGET_HOST}=127.0.0.1`,
  ]);
  // glibc's allocator settings the supervisor gives its workers (docs/performance.md); workers: 1 has none.
  const env = { ...process.env, ...workerEnvironment(process.env), ...options.env };
  const child = spawn(file, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForServiceStarted(log, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: 'gateway', pid: child.pid ?? -1, port, tlsPort, stop };
}

async function waitForServiceStarted(log: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode}`);
    if ((await readFile(log, 'utf8').catch(() => '')).includes('"service-started"')) return;
    await sleep(100);
  }
  throw new Error('the gateway did not log service-started within 30 s');
}

export function squidVersion(): string | undefined {
  try {
    return /Version (\S+)/.exec(execFileSync('squid', ['-v'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Squid with one worker (as the gateway), no cache, its access log to a file (as the gateway's audit log),
 * the same single allowlist entry, and the target name mapped to the origin through a hosts file.
 */
export async function startSquid(originPort: number, cpus: string | undefined): Promise<Server> {
  // A directory of its own: Squid drops to its own user, which must reach and write it.
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-bench-squid-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const name = `omsbench${process.pid}`;
  const hosts = join(dir, 'hosts');
  await writeFile(hosts, `127.0.0.1 ${TARGET_HOST}\n`);
  const conf = join(dir, 'squid.conf');
  await writeFile(conf, [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${join(dir, 'squid.pid')}`,
    `cache_log ${join(dir, 'squid-cache.log')}`,
    `access_log stdio:${join(dir, 'squid-access.log')}`,
    `coredump_dir ${dir}`,
    `hosts_file ${hosts}`,
    'cache deny all',
    'cache_mem 8 MB',
    'pinger_enable off',
    // As many as the gateway may hold: the limit the benchmark runs under.
    `max_filedescriptors ${(await openFilesLimit()) ?? 16_384}`,
    'shutdown_lifetime 0 seconds',
    `acl allowed_hosts dstdomain ${TARGET_HOST}`,
    `acl allowed_ports port ${originPort}`,
    'acl CONNECT method CONNECT',
    'http_access deny CONNECT !allowed_ports',
    'http_access allow CONNECT allowed_hosts',
    'http_access deny all',
    '',
  ].join('\n'));
  const [file, args] = pinned(cpus, 'squid', ['--foreground', '-f', conf, '-n', name]);
  const child = spawn(file, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`squid exited with code ${child.exitCode}; see ${join(dir, 'squid-cache.log')}`);
    if ((await probeConnect(port)) === 'connected') {
      const stop = async (): Promise<void> => {
        await stopChild(child);
        await rm(dir, { recursive: true, force: true });
      };
      return { name: 'squid', pid: child.pid ?? -1, port, stop };
    }
    await sleep(200);
  }
  await stopChild(child, 'SIGKILL');
  throw new Error('squid did not listen within 30 s');
}
