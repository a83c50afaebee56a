import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../fixtures/cli.js';
import { watchFile } from '../../src/service/watch.js';

const DEBOUNCE_MS = 100;
/** Long enough for the watch events and the debounce to settle on a loaded machine. */
const SETTLE_MS = 1500;

test('a changed file is reported once per settled change, also when replaced by rename; rewriting the same bytes is not', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'gateway.yaml');
  await writeFile(path, 'watch: true\n');
  let changes = 0;
  const watch = await watchFile(path, { debounceMs: DEBOUNCE_MS, onChange: () => (changes += 1), onError: (err) => assert.fail(err) });
  t.after(() => watch.close());

  await writeFile(path, 'watch: true\n');
  await sleep(SETTLE_MS);
  assert.equal(changes, 0, 'the same bytes counted as a change');

  for (const level of ['debug', 'info', 'warn']) await writeFile(path, `log:\n  level: ${level}\n`);
  await sleep(SETTLE_MS);
  assert.equal(changes, 1, 'a burst of writes was not folded into one change');

  await writeFile(join(dir, '.gateway.yaml.tmp'), 'log:\n  level: error\n');
  await rename(join(dir, '.gateway.yaml.tmp'), path);
  await sleep(SETTLE_MS);
  assert.equal(changes, 2, 'a file renamed over the watched one was missed');

  await writeFile(join(dir, 'other.yaml'), 'unrelated: 1\n');
  await sleep(SETTLE_MS);
  assert.equal(changes, 2, 'another file in the directory counted as a change');
});
