// The benchmark's profile summary (bench/profile.ts): self time for every function, and time including
// callees for the gateway's own functions, counted once per stack however deep a function recurses.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { profileText, summariseProfiles } from '../../bench/profile.js';

const OWN = 'file:///opt/oms-gateway/dist/src/proxy/relay.js';

function node(id: number, functionName: string, url: string, hitCount: number, children: number[] = []) {
  return { id, callFrame: { functionName, url, lineNumber: 9 }, hitCount, children };
}

// (root) → onData (own, 2) → onData again (own, recursion, 3) → writeBuffer (native, 4); (root) → (idle) 11.
const PROFILE = {
  nodes: [
    node(1, '(root)', '', 0, [2, 5]),
    node(2, 'onData', OWN, 2, [3]),
    node(3, 'onData', OWN, 3, [4]),
    node(4, 'writeBuffer', '', 4),
    node(5, '(idle)', '', 11),
  ],
};

async function summaryOf(profiles: readonly object[]) {
  const dir = await mkdtemp(join(tmpdir(), 'bench-profile-'));
  try {
    for (const [i, profile] of profiles.entries()) await writeFile(join(dir, `CPU.${i}.cpuprofile`), JSON.stringify(profile));
    await writeFile(join(dir, 'notes.txt'), 'not a profile');
    return await summariseProfiles(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('self time is each function’s own samples over all samples, idle included', async () => {
  const { self } = await summaryOf([PROFILE]);
  assert.deepEqual(self.map((f) => [f.frame, f.percent]), [
    ['(idle)', 55],
    ['onData dist/src/proxy/relay.js:10', 25],
    ['writeBuffer', 20],
  ]);
});

test('inclusive time lists only the gateway’s own functions, a recursing one counted once per stack', async () => {
  const { inclusive } = await summaryOf([PROFILE]);
  // 2 + 3 + 4 of 20 samples: the inner onData's 7 are inside the outer call's 9, not added to them.
  assert.deepEqual(inclusive.map((f) => [f.frame, f.percent]), [['onData dist/src/proxy/relay.js:10', 45]]);
});

test('several processes’ profiles add up, and a folder without profiles gives empty lists', async () => {
  // A second process that was idle for all of its 20 samples: 31 of 40 idle.
  const { self } = await summaryOf([PROFILE, { nodes: [node(1, '(root)', '', 0, [2]), node(2, '(idle)', '', 20)] }]);
  assert.deepEqual(self.map((f) => [f.frame, f.percent]), [['(idle)', 77.5], ['onData dist/src/proxy/relay.js:10', 12.5], ['writeBuffer', 10]]);
  const none = await summariseProfiles(join(tmpdir(), 'no-such-profile-folder'));
  assert.deepEqual(none, { self: [], inclusive: [] });
  assert.match(profileText(await summaryOf([PROFILE])), /^self time:\n 55\.0 % {2}\(idle\)\n[\s\S]*time including callees:\n 45\.0 % {2}onData/);
});
