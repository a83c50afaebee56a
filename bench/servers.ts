// The processes a benchmark run starts on loopback: the TLS origin, the gateway (the real CLI, as an
// operator runs it) and Squid (Debian's package) configured to the same allowlist. Each is stopped by the
// run that started it, by its process ID.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { probeConnect } from '../test/fixtures/raw-client.js';

export const TARGET_HOST = 'bench.ods.opinsights.azure.com';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
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

/** An ECDSA P-256 key and self-signed certificate for the target name, made with openssl. */
export function makeCertificate(dir: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'origin.key');
  const certFile = join(dir, 'origin.crt');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${TARGET_HOST}`,
    '-addext', `subjectAltName=DNS:${TARGET_HOST},IP:127.0.0.1`,
  ], { stdio: 'ignore' });
  return { keyFile, certFile };
}

export async function startOrigin(dir: string): Promise<Server> {
  const { keyFile, certFile } = makeCertificate(dir);
  const workers = Math.min(2, availableParallelism());
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/origin-main.js'), keyFile, certFile, String(workers)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { name: 'origin', pid: child.pid ?? -1, port: Number(line.toString().trim()), stop: () => stopChild(child) };
}

export interface GatewayOptions {
  readonly originPort: number;
  readonly workers: string;
  /** workerScheduling; the product's default when absent. */
  readonly scheduling?: 'round-robin' | 'kernel';
  /** Extra node options for the gateway's processes, e.g. --cpu-prof. */
  readonly nodeOptions?: readonly string[];
}

/** The gateway CLI with the benchmark's allowlist entry and mapping; its audit log goes to a file. */
export async function startGateway(dir: string, options: GatewayOptions): Promise<Server> {
  const log = join(dir, 'gateway.log');
  await writeFile(log, '');
  const config = join(dir, 'gateway.yaml');
  await writeFile(config, [
    `workers: ${options.workers}`,
    ...(options.scheduling === undefined ? [] : [`workerScheduling: ${options.scheduling}`]),
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
  const child = spawn(process.execPath, [
    ...(options.nodeOptions ?? []),
    join(REPO_ROOT, 'dist/src/cli/main.js'), 'start', '--config', config,
    '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0',
    '--allow-host', `${TARGET_HOST}:${options.originPort}`, '--resolve', `${TARGET_HOST}=127.0.0.1`,
  ], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const port = await waitForServicePort(log, child);
  return { name: 'gateway', pid: child.pid ?? -1, port, stop: () => stopChild(child) };
}

async function waitForServicePort(log: string, child: ChildProcess): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode}`);
    const text = await readFile(log, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('"service-started"')) continue;
      const record = JSON.parse(line) as { listeners?: { port?: number }[] };
      const port = record.listeners?.[0]?.port;
      if (typeof port === 'number') return port;
    }
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
 * Squid with as many workers as the gateway, no cache, its access log to a file (as the gateway's audit
 * log), the same single allowlist entry, and the target name mapped to the origin through a hosts file.
 */
export async function startSquid(originPort: number, workers: number): Promise<Server> {
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
    ...(workers > 1 ? [`workers ${workers}`] : []),
    `pid_filename ${join(dir, 'squid.pid')}`,
    `cache_log ${join(dir, 'squid-cache.log')}`,
    `access_log stdio:${join(dir, 'squid-access.log')}`,
    `coredump_dir ${dir}`,
    `hosts_file ${hosts}`,
    'cache deny all',
    'cache_mem 8 MB',
    'pinger_enable off',
    'max_filedescriptors 16384',
    'shutdown_lifetime 1 seconds',
    `acl allowed_hosts dstdomain ${TARGET_HOST}`,
    `acl allowed_ports port ${originPort}`,
    'acl CONNECT method CONNECT',
    'http_access deny CONNECT !allowed_ports',
    'http_access allow CONNECT allowed_hosts',
    'http_access deny all',
    '',
  ].join('\n'));
  const child = spawn('squid', ['--foreground', '-f', conf, '-n', name], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
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
