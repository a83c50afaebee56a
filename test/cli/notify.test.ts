// The wait of `reload` and the editing commands is bounded: a gateway that takes the SIGHUP but never
// writes its answer gets a clear "did not answer" (and the command fails), as does one that exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeNotice, noticeSucceeded, notifyGateway } from '../../src/cli/notify.js';
import { tempDir } from '../fixtures/cli.js';

/** A process whose command line reads as `oms-gateway start` but that ignores SIGHUP and never answers. */
async function silentGateway(dir: string, exitOnHangUp: boolean): Promise<{ pid: number; stop: () => void }> {
  const script = join(dir, 'cli', 'main.js');
  await mkdir(join(dir, 'cli'));
  await writeFile(script, `process.on('SIGHUP', () => { if (${exitOnHangUp}) process.exit(0); }); setInterval(() => {}, 1000); console.log('ready');\n`);
  const child = spawn(process.execPath, [script, 'start'], { stdio: ['ignore', 'pipe', 'ignore'] });
  // Until its SIGHUP handler is installed, a SIGHUP would end it.
  await new Promise((resolve) => child.stdout?.once('data', resolve));
  return { pid: child.pid ?? 0, stop: () => child.kill('SIGKILL') };
}

for (const exits of [false, true]) {
  test(exits ? 'a gateway that exits instead of answering' : 'a gateway that never answers: the wait ends with a clear reason', async (t) => {
    const dir = await tempDir(t);
    const gateway = await silentGateway(dir, exits);
    t.after(gateway.stop);
    const pidFile = join(dir, 'gateway.pid');
    await writeFile(pidFile, `${gateway.pid}\n`);
    const notice = await notifyGateway(pidFile, false, 600);
    assert.equal(notice.status, 'no-answer');
    assert.equal(noticeSucceeded(notice), false);
    const reason = exits ? 'it exited before it answered' : 'it did not answer within 0.6 s (see its log for config-reloaded or reload-failed)';
    assert.equal(describeNotice(notice), `told the running gateway (pid ${gateway.pid}) to reload, but ${reason}`);
  });
}
