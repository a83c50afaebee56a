// The pace of worker replacements: at once, then doubling while failures keep coming, capped, and at once
// again after a calm spell.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartBackoff } from '../../src/cluster/restart-backoff.js';

test('the first failure is replaced at once; close failures double the delay up to the cap', () => {
  const backoff = new RestartBackoff({ minMs: 500, maxMs: 4_000, calmMs: 60_000 });
  const delays = [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000].map((at) => backoff.next(at));
  assert.deepEqual(delays, [0, 500, 1_000, 2_000, 4_000, 4_000, 4_000]);
});

test('a failure after a calm spell is a first failure again', () => {
  const backoff = new RestartBackoff({ minMs: 500, maxMs: 4_000, calmMs: 60_000 });
  backoff.next(0);
  backoff.next(1_000);
  assert.equal(backoff.next(2_000), 1_000);
  assert.equal(backoff.next(62_001), 0);
  assert.equal(backoff.next(62_500), 500);
});
