// The queue in front of libuv's thread pool: never more than its limit at once, the rest in arrival order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lane, passwordCheckLimit, threadPoolSize } from '../../src/auth/lane.js';

test('runs at most `limit` tasks at once, and starts the others in arrival order', async () => {
  const lane = new Lane(2);
  const started: number[] = [];
  const releases: (() => void)[] = [];
  let peak = 0;
  const runs = Array.from({ length: 6 }, (_, i) =>
    lane.run(async () => {
      started.push(i);
      peak = Math.max(peak, lane.running);
      await new Promise<void>((resolve) => releases.push(resolve));
      return i;
    }),
  );
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  assert.equal(lane.waiting, 4);
  // Release one at a time; each end lets exactly the next one in.
  for (let i = 0; i < 6; i++) {
    releases.shift()?.();
    for (let j = 0; j < 5; j++) await Promise.resolve();
  }
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
  assert.equal(peak, 2);
  assert.equal(lane.running, 0);
  assert.equal(lane.waiting, 0);
});

test('a task that fails frees its place', async () => {
  const lane = new Lane(1);
  await assert.rejects(lane.run(() => Promise.reject(new Error('scrypt failed'))), /scrypt failed/);
  assert.equal(await lane.run(() => Promise.resolve('next')), 'next');
  assert.equal(lane.running, 0);
});

test('half the thread pool, as UV_THREADPOOL_SIZE sets it (4 by default, at most 1024)', () => {
  const cases: [string | undefined, number, number][] = [
    [undefined, 4, 2],
    ['', 4, 2],
    ['abc', 4, 2],
    ['0', 4, 2],
    ['1', 1, 1],
    ['3', 3, 1],
    ['16', 16, 8],
    ['5000', 1024, 512],
  ];
  for (const [setting, size, limit] of cases) {
    assert.equal(threadPoolSize(setting), size, `UV_THREADPOOL_SIZE=${setting}`);
    assert.equal(passwordCheckLimit(size), limit, `pool of ${size}`);
  }
});
