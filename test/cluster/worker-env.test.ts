// The allocator settings workers start with, unless the operator's environment already says otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workerEnvironment } from '../../src/cluster/worker-env.js';

test('every glibc setting is added to an environment without them', () => {
  assert.deepEqual(workerEnvironment({}), { MALLOC_TRIM_THRESHOLD_: '67108864', MALLOC_TOP_PAD_: '16777216', MALLOC_ARENA_MAX: '2' });
});

test("a setting the operator made is left to the operator's value", () => {
  assert.deepEqual(workerEnvironment({ MALLOC_TOP_PAD_: '0', MALLOC_ARENA_MAX: '8' }), { MALLOC_TRIM_THRESHOLD_: '67108864' });
});
