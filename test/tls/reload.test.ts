// The file watch behind certificate reloading notices every way a file is replaced: written in place,
// renamed over (as `cert generate` and cert-manager do), removed and put back.

import assert from 'node:assert/strict';
import { rename, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchFiles } from '../../src/tls/reload.js';

const INTERVAL_MS = 50;

async function changesAfter(watched: readonly string[], action: () => Promise<void>): Promise<number> {
  let changes = 0;
  const watch = watchFiles(watched, INTERVAL_MS, () => (changes += 1));
  await sleep(INTERVAL_MS * 3);
  const before = changes;
  await action();
  await sleep(INTERVAL_MS * 4);
  watch.close();
  return changes - before;
}

const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-watch-'));
after(() => rm(dir, { recursive: true, force: true }));

test('nothing changes: no call', async () => {
  const file = join(dir, 'still.pem');
  await writeFile(file, 'a');
  assert.equal(await changesAfter([file], async () => undefined), 0);
});

test('a file rewritten in place with new content (a check may also see it half-written)', async () => {
  const file = join(dir, 'inplace.pem');
  await writeFile(file, 'a');
  const changes = await changesAfter([file], () => writeFile(file, 'bb'));
  assert.ok(changes >= 1 && changes <= 2, `${changes} changes`);
});

test('a file replaced by rename', async () => {
  const file = join(dir, 'renamed.pem');
  await writeFile(file, 'a');
  assert.equal(await changesAfter([file], async () => {
    await writeFile(`${file}.new`, 'a');
    await rename(`${file}.new`, file);
  }), 1);
});

test('a file removed, then a second watched file changed', async () => {
  const first = join(dir, 'first.pem');
  const second = join(dir, 'second.pem');
  await writeFile(first, 'a');
  await writeFile(second, 'a');
  const changes = await changesAfter([first, second], async () => {
    await rm(first);
    await sleep(INTERVAL_MS * 3);
    await writeFile(second, 'changed');
  });
  assert.equal(changes, 2);
});
