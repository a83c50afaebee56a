// The purpose-built part of the load generator, for what no packaged tool does: thousands of simulated
// agents, each holding one long-lived TLS session to the origin (through a proxy's CONNECT tunnel, or
// direct) and uploading a batch on a fixed period, the way a monitoring agent does; and the same sessions
// held idle, to weigh what an open tunnel costs the proxy.

import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { TARGET_HOST } from './servers.js';

export interface Path {
  readonly name: string;
  /** Proxy port, or undefined for the direct path. */
  readonly proxyPort: number | undefined;
  /** TLS to the proxy (the gateway's https:// listener), the agent's TLS inside it. */
  readonly proxyTls?: boolean;
}

/** The `index`th agent's own source address, in 127.1.0.1 onwards: the proxy sees one client per agent. */
export function sourceAddress(index: number): string {
  const n = index + 1;
  return `127.${1 + Math.floor(n / 65_536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/** The tunnel's client end: CONNECT through the proxy, answered 200. */
function tunnel(path: Path & { proxyPort: number }, originPort: number, timeoutMs: number, localAddress: string | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const to = { host: '127.0.0.1', port: path.proxyPort, localAddress };
    // The gateway's listener certificate is the benchmark's own, self-signed.
    const socket = path.proxyTls === true ? tlsConnect({ ...to, rejectUnauthorized: false }) : connect({ ...to, noDelay: true });
    let head = '';
    const timer = setTimeout(() => fail(new Error('CONNECT timed out')), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.on('data', function onData(chunk: Buffer) {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.off('error', fail);
      clearTimeout(timer);
      if (!head.startsWith('HTTP/1.1 200')) return fail(new Error(`CONNECT answered ${head.split('\r\n')[0]}`));
      socket.pause();
      resolve(socket);
    });
    socket.write(`CONNECT ${TARGET_HOST}:${originPort} HTTP/1.1\r\nHost: ${TARGET_HOST}:${originPort}\r\n\r\n`);
  });
}

/** One agent session: TLS to the origin with the target's name, through the path, from `localAddress`. */
export async function openSession(path: Path, originPort: number, timeoutMs = 30_000, localAddress?: string): Promise<TLSSocket> {
  const { proxyPort } = path;
  const socket = proxyPort === undefined ? undefined : await tunnel({ ...path, proxyPort }, originPort, timeoutMs, localAddress);
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      ...(socket === undefined ? { host: '127.0.0.1', port: originPort, localAddress } : { socket }),
      servername: TARGET_HOST,
      // The benchmark measures transport, not trust: the origin's certificate is self-signed.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      tls.destroy();
      reject(new Error('TLS handshake timed out'));
    }, timeoutMs);
    tls.once('secureConnect', () => {
      clearTimeout(timer);
      tls.off('error', reject);
      tls.on('error', () => tls.destroy());
      resolve(tls);
    });
    tls.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Opens `count` sessions, `parallel` handshakes at a time, each from its own source address when
 * `ownAddresses`; rejects on the first failure.
 */
export async function openSessions(path: Path, originPort: number, count: number, ownAddresses = false, parallel = 128): Promise<TLSSocket[]> {
  const sessions: TLSSocket[] = [];
  let next = 0;
  let failure: Error | undefined;
  const lane = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      const index = next;
      next += 1;
      try {
        sessions.push(await openSession(path, originPort, 30_000, ownAddresses ? sourceAddress(index) : undefined));
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  if (failure !== undefined) {
    closeSessions(sessions);
    throw failure;
  }
  return sessions;
}

export function closeSessions(sessions: readonly TLSSocket[]): void {
  for (const session of sessions) session.destroy();
}

/** Writes one request (its parts in order) over the session; resolves with the time to the whole 200 answer, in ms. */
export function exchange(session: TLSSocket, request: readonly Buffer[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let answer = '';
    const timer = setTimeout(() => done(new Error('request timed out')), timeoutMs);
    const done = (err?: Error): void => {
      clearTimeout(timer);
      session.off('data', onData);
      session.off('close', onClose);
      if (err) reject(err);
      else resolve(performance.now() - started);
    };
    const onData = (chunk: Buffer): void => {
      answer += chunk.toString('latin1');
      const end = answer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(answer.slice(0, end))?.[1] ?? Number.NaN);
      if (!answer.startsWith('HTTP/1.1 200')) done(new Error(`origin answered ${answer.split('\r\n')[0]}`));
      else if (answer.length - end - 4 >= length) done();
    };
    const onClose = (): void => done(new Error('session closed during a request'));
    session.on('data', onData);
    session.once('close', onClose);
    for (const part of request) session.write(part);
  });
}

export interface AgentRun {
  readonly agents: number;
  readonly uploads: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * The share of a CPU the load generator's CPUs were busy while the agents uploaded (1: one CPU saturated,
   * and the upload times are its queue as much as the path's); undefined when not read.
   */
  readonly loadBusy?: number;
}

export interface AgentLoad {
  readonly agents: number;
  readonly uploadBytes: number;
  readonly periodMs: number;
  /** Upload rounds each agent makes after all sessions are open. */
  readonly rounds: number;
  /**
   * Seconds the load generator's CPUs have been busy so far (bench/procs.ts cpusBusySeconds on them), read
   * before and after the uploads; undefined: not read.
   */
  readonly loadBusySeconds?: () => number;
}

/**
 * Opens the sessions, each agent from its own source address, then has each agent upload every period, starting at a random point of the first
 * period so the uploads spread as real agents' do.
 */
export async function runAgents(path: Path, originPort: number, load: AgentLoad): Promise<AgentRun> {
  let sessions: TLSSocket[];
  try {
    sessions = await openSessions(path, originPort, load.agents, true);
  } catch (err) {
    return { agents: load.agents, uploads: 0, errors: 1, firstError: (err as Error).message, p50Ms: Number.NaN, p99Ms: Number.NaN };
  }
  const body = Buffer.alloc(load.uploadBytes, 0x61);
  const head = Buffer.from(`POST /sha256 HTTP/1.1\r\nHost: ${TARGET_HOST}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`);
  const times: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const agent = async (session: TLSSocket): Promise<void> => {
    const offset = Math.random() * load.periodMs;
    await sleepMs(offset);
    for (let round = 0; round < load.rounds; round += 1) {
      const due = performance.now() + load.periodMs;
      try {
        // An upload that takes this long is an error, whatever the period (the smoke run's is 0.5 s).
        times.push(await exchange(session, [head, body], Math.max(load.periodMs * 5, 30_000)));
      } catch (err) {
        errors += 1;
        firstError ??= (err as Error).message;
        return;
      }
      if (round < load.rounds - 1) await sleepMs(due - performance.now());
    }
  };
  const { loadBusySeconds } = load;
  const busyBefore = loadBusySeconds?.() ?? 0;
  const started = performance.now();
  await Promise.all(sessions.map(agent));
  const seconds = (performance.now() - started) / 1000;
  const loadBusy = loadBusySeconds === undefined ? undefined : (loadBusySeconds() - busyBefore) / seconds;
  closeSessions(sessions);
  const sorted = times.sort((a, b) => a - b);
  return { agents: load.agents, uploads: times.length, errors, firstError, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), loadBusy };
}

export function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}
