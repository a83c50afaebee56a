// The shipped deploy/haproxy/haproxy.cfg run by Debian's haproxy in the foreground, configured only through
// the environment variables the file reads ("${NAME-default}"), with its runtime API (stats socket) for
// reading each server's state as HAProxy sees it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../fixtures/gateway.js';

export const HAPROXY_CFG = join(REPO_ROOT, 'deploy', 'haproxy', 'haproxy.cfg');
/** The backend (`listen` section) the shipped file defines. */
export const BACKEND = 'gateways';

export interface TimedLine {
  /** Date.now() when the line arrived. */
  readonly at: number;
  readonly line: string;
}

export interface Haproxy {
  /** stderr (server state changes, alerts) and stdout (the log), as they arrived. */
  readonly output: readonly TimedLine[];
  /** `status` of a server of the backend from `show stat`: UP, DOWN, "UP 1/2", "DOWN 1/2", MAINT, ... */
  status(server: string): Promise<string>;
  /** Polls every `pollMs` until the server's status matches; resolves with the time it was first seen. */
  waitForStatus(server: string, pattern: RegExp, timeoutMs: number, pollMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/** Sends one runtime API command and returns the whole answer. */
function runtimeApi(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('end', () => resolve(answer));
    socket.once('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`runtime API: no answer to "${command}"`)));
    socket.end(`${command}\n`);
  });
}

function statusFrom(csv: string, server: string): string | undefined {
  const [header = '', ...rows] = csv.split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const at = (name: string): number => columns.indexOf(name);
  for (const row of rows) {
    const cells = row.split(',');
    if (cells[at('pxname')] === BACKEND && cells[at('svname')] === server) return cells[at('status')];
  }
  return undefined;
}

/** Variables of the shipped file that the caller sets; nothing else from the caller's environment leaks in. */
export type HaproxyEnv = Readonly<Record<string, string>>;

export async function startHaproxy(env: HaproxyEnv): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-haproxy-'));
  const socketPath = join(dir, 'admin.sock');
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', HAPROXY_CFG], {
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      OMS_HAPROXY_UNPRIVILEGED: '1',
      OMS_HAPROXY_STATS_SOCKET: socketPath,
      OMS_HAPROXY_LOG: 'stdout',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: TimedLine[] = [];
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    if (stream === null) return;
    createInterface({ input: stream }).on('line', (line) => {
      // Bounded: the log has a line per connection.
      if (output.length < 20_000) output.push({ at: Date.now(), line });
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));

  const status = async (server: string): Promise<string> => {
    const found = statusFrom(await runtimeApi(socketPath, 'show stat'), server);
    if (found === undefined) throw new Error(`no server ${BACKEND}/${server} in show stat`);
    return found;
  };
  const waitForStatus = async (server: string, pattern: RegExp, timeoutMs: number, pollMs = 20): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    let last = '(no answer)';
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      try {
        last = await status(server);
        if (pattern.test(last)) return Date.now();
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(pollMs);
    }
    const tail = output.slice(-20).map((l) => l.line).join('\n');
    throw new Error(`${BACKEND}/${server} did not reach ${pattern} within ${timeoutMs} ms (last: ${last}); haproxy output:\n${tail}`);
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  return { output, status, waitForStatus, stop };
}
