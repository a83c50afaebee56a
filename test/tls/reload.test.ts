// The file watch behind certificate reloading notices every way a file is replaced: written in place,
// renamed over (as `cert generate` and cert-manager do), removed and put back.

import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchFiles } from '../../src/tls/reload.js';

const INTERVAL_MS = 50;
/** Long enough for several checks even on a loaded machine. */
const SETTLE_MS = INTERVAL_MS * 8;

/** Counts the calls each action causes, letting the watch settle before and after every action. */
async function callsPerAction(watched: readonly string[], actions: readonly (() => Promise<void>)[]): Promise<number[]> {
  let calls = 0;
  const watch = watchFiles(watched, INTERVAL_MS, () => (calls += 1));
  await sleep(SETTLE_MS);
  const counts: number[] = [];
  for (const action of actions) {
    const before = calls;
    await action();
    await sleep(SETTLE_MS);
    counts.push(calls - before);
  }
  watch.close();
  return counts;
}

const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-watch-'));
after(() => rm(dir, { recursive: true, force: true }));

test('nothing changes: no call', async () => {
  const file = join(dir, 'still.pem');
  await writeFile(file, 'a');
  assert.deepEqual(await callsPerAction([file], [async () => undefined]), [0]);
});

test('a file rewritten in place with new content (a check may also see it half-written)', async () => {
  const file = join(dir, 'inplace.pem');
  await writeFile(file, 'a');
  const [calls = 0] = await callsPerAction([file], [() => writeFile(file, 'bb')]);
  assert.ok(calls >= 1 && calls <= 2, `${calls} calls`);
});

test('a file replaced by rename', async () => {
  const file = join(dir, 'renamed.pem');
  await writeFile(file, 'a');
  const replace = async (): Promise<void> => {
    await writeFile(`${file}.new`, 'a');
    await rename(`${file}.new`, file);
  };
  assert.deepEqual(await callsPerAction([file], [replace]), [1]);
});

test('a file removed, then put back, and a second watched file changed', async () => {
  const first = join(dir, 'first.pem');
  const second = join(dir, 'second.pem');
  await writeFile(first, 'a');
  await writeFile(second, 'a');
  const counts = await callsPerAction([first, second], [() => rm(first), () => writeFile(first, 'a'), () => writeFile(second, 'changed')]);
  assert.equal(counts[0], 1);
  assert.ok((counts[1] ?? 0) >= 1 && (counts[2] ?? 0) >= 1, `calls ${counts.join(', ')}`);
});
