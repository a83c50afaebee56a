import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../fixtures/cli.js';
import { isGatewayProcess, PidFileError, readPidFile, removePidFile, writePidFile } from '../../src/service/pid-file.js';

test('writes this process\'s PID (creating the directory), reads it back, removes it only while it is ours', async (t) => {
  const path = join(await tempDir(t), 'run', 'gateway.pid');
  await writePidFile(path);
  assert.equal(await readFile(path, 'utf8'), `${process.pid}\n`);
  assert.equal((await stat(path)).mode & 0o777, 0o644);
  assert.equal(await readPidFile(path), process.pid);
  await writeFile(path, '1\n');
  removePidFile(path);
  assert.equal(await readPidFile(path), 1, 'a pid file naming another process was removed');
  await writeFile(path, `${process.pid}\n`);
  removePidFile(path);
  assert.equal(await readPidFile(path), undefined);
});

test('a missing file or one without a PID reads as none', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await readPidFile(join(dir, 'absent.pid')), undefined);
  await writeFile(join(dir, 'junk.pid'), 'not a pid\n');
  assert.equal(await readPidFile(join(dir, 'junk.pid')), undefined);
});

test('only an `oms-gateway start` process counts as a gateway; a stale file is taken over', async (t) => {
  assert.equal(isGatewayProcess(process.pid), false, 'the test runner passed for a gateway');
  const sleeper = spawn('sleep', ['30']);
  t.after(() => sleeper.kill('SIGKILL'));
  assert.equal(isGatewayProcess(sleeper.pid ?? -1), false);
  const path = join(await tempDir(t), 'gateway.pid');
  await writeFile(path, `${sleeper.pid}\n`);
  await writePidFile(path);
  assert.equal(await readPidFile(path), process.pid);
});

test('refuses a pid file that names a running gateway', async (t) => {
  // A process whose command line looks like `node …/cli/main.js start`: argv[1] names the CLI path.
  const fake = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', '/opt/x/dist/src/cli/main.js', 'start']);
  t.after(() => fake.kill('SIGKILL'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const args = (await readFile(`/proc/${fake.pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(args.includes('start'), args.join(' '));
  const path = join(await tempDir(t), 'gateway.pid');
  await writeFile(path, `${fake.pid}\n`);
  await assert.rejects(writePidFile(path), (err: unknown) => err instanceof PidFileError && /names a running gateway/.test(err.message));
});
