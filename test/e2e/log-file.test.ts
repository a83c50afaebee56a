// Log destinations of the gateway as shipped (default worker processes): a log file rotated by the real
// logrotate with the rules of deploy/logrotate/oms-gateway (SIGUSR2), moved by hand and reopened on
// SIGHUP (which also reloads the configuration), with no line lost; and pretty lines on standard output.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_MAIN, REPO_ROOT } from '../fixtures/gateway.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

type LogRecord = Record<string, unknown>;

interface Spawned {
  readonly child: ChildProcess;
  output(): string;
}

function spawnGateway(args: readonly string[]): Spawned {
  const { OMS_GATEWAY_CONFIG: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [CLI_MAIN, 'start', '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  return { child, output: () => output };
}

async function recordsOf(path: string): Promise<LogRecord[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogRecord);
}

/** Records of `path` once one satisfies `predicate` (bounded wait); `process` is described when it never comes. */
async function waitInFile(path: string, predicate: (record: LogRecord) => boolean, what: string, process?: Spawned): Promise<LogRecord[]> {
  // Several worker processes start slowly on a loaded CI machine: up to a minute.
  for (let i = 0; i < 1200; i += 1) {
    const records = await recordsOf(path);
    if (records.some(predicate)) return records;
    await sleep(50);
  }
  const state = process === undefined ? '' : `\ngateway exit code: ${String(process.child.exitCode)}; its output:\n${process.output()}`;
  throw new Error(`${what} never appeared in ${path}:\n${JSON.stringify(await recordsOf(path)).slice(-2000)}${state}`);
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

describe('a log file rotated while the gateway runs', () => {
  let dir: string;
  let log: string;
  let gateway: Spawned;
  let port: number;
  let config: string;
  let started: LogRecord;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-logfile-'));
    log = join(dir, 'oms-gateway.log');
    config = join(dir, 'gateway.yaml');
    await writeFile(config, `log:\n  file: ${JSON.stringify(log)}\n`);
    gateway = spawnGateway(['--config', config]);
    const records = await waitInFile(log, (r) => r.event === 'service-started', 'service-started', gateway);
    started = records.find((r) => r.event === 'service-started') ?? {};
    port = (started as { listeners?: { port: number }[] }).listeners?.[0]?.port ?? 0;
    assert.ok(port > 0);
  });
  after(async () => {
    if (gateway !== undefined) await stop(gateway.child);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const denials = async (count: number, tag: string): Promise<void> => {
    for (let i = 0; i < count; i += 1) assert.equal((await connectStatus(port, `${tag}-${i}.example.com:443`)).status, 403);
  };

  test('service-started names the version that runs and the configuration file it read', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(started.version, pkg.version);
    assert.equal(started.configFile, config);
  });

  test('logrotate with the shipped rules moves the file, SIGUSR2 reopens it, and no line is lost', async () => {
    requireCommand('logrotate');
    await denials(3, 'before-rotation');
    await waitInFile(log, (r) => r.target === 'before-rotation-2.example.com:443', 'the last denial before rotation');

    // The shipped rules with this test's file, owner (the caller) and process, nothing else changed.
    const shipped = await readFile(join(REPO_ROOT, 'deploy', 'logrotate', 'oms-gateway'), 'utf8');
    const rules = shipped
      .replace('/var/log/oms-gateway/oms-gateway.log', log)
      .replace(/^(\s*)create 0640 oms-gateway oms-gateway$/m, '$1create 0640')
      .replace(/postrotate\n[\s\S]*?endscript/, `postrotate\n        kill -USR2 ${String(gateway.child.pid)}\n    endscript`);
    assert.notEqual(rules, shipped);
    const rulesFile = join(dir, 'logrotate.conf');
    await writeFile(rulesFile, rules);
    const rotated = await runCommand('logrotate', ['--force', '--state', join(dir, 'logrotate.state'), rulesFile]);
    assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);

    await waitInFile(log, (r) => r.event === 'log-reopened' && r.signal === 'SIGUSR2', 'log-reopened after SIGUSR2');
    await denials(2, 'after-rotation');
    const fresh = await waitInFile(log, (r) => r.target === 'after-rotation-1.example.com:443', 'the last denial after rotation');
    const old = await recordsOf(`${log}.1`);
    assert.ok(old.some((r) => r.event === 'service-started'));
    const targets = (records: LogRecord[]): unknown[] => records.filter((r) => r.event === 'request-denied').map((r) => r.target);
    assert.deepEqual(targets(old), ['before-rotation-0.example.com:443', 'before-rotation-1.example.com:443', 'before-rotation-2.example.com:443']);
    assert.deepEqual(targets(fresh), ['after-rotation-0.example.com:443', 'after-rotation-1.example.com:443']);
    assert.equal(fresh[0]?.event, 'log-reopened', 'the new file starts with the reopen record');
  });

  test('SIGHUP reopens the file as well, recreated with the mode and owner of the moved one, and the gateway keeps serving', async () => {
    // 0640, given by logrotate's `create` above; a file created under the usual umask would be 0644.
    const moved = await stat(log);
    assert.equal((moved.mode & 0o777).toString(8), '640');
    await rename(log, `${log}.moved`);
    gateway.child.kill('SIGHUP');
    const records = await waitInFile(log, (r) => r.event === 'log-reopened' && r.signal === 'SIGHUP', 'log-reopened after SIGHUP');
    assert.equal(records[0]?.event, 'log-reopened');
    const fresh = await stat(log);
    assert.equal((fresh.mode & 0o777).toString(8), '640');
    assert.deepEqual([fresh.uid, fresh.gid], [moved.uid, moved.gid]);
    await denials(1, 'after-hup');
    await waitInFile(log, (r) => r.target === 'after-hup-0.example.com:443', 'a denial after SIGHUP');
    assert.equal(gateway.child.exitCode, null);
    assert.equal(await stop(gateway.child), 0);
    await waitInFile(log, (r) => r.event === 'service-stopped', 'service-stopped');
    assert.equal(gateway.output(), '', 'with a log file, nothing goes to stdout or stderr');
  });
});

test('--log-format pretty: one readable line per record on standard output', async () => {
  const gateway = spawnGateway(['--log-format', 'pretty']);
  try {
    for (let i = 0; i < 1200 && !/service-started/.test(gateway.output()); i += 1) await sleep(50);
    const line = gateway.output().split('\n').find((l) => l.includes('service-started')) ?? '';
    assert.match(line, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: service-started \{"event":"service-started","eventId":101,/);
    assert.doesNotMatch(gateway.output(), /\u001b\[/, 'no colour codes when standard output is not a terminal');
  } finally {
    assert.equal(await stop(gateway.child), 0);
  }
  assert.match(gateway.output(), /INFO: service-stopped /);
});
