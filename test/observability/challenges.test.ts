// The ledger behind oms_gateway_unanswered_auth_sources: a source asked for credentials that never
// authenticates is counted under its rule; one that answers the challenge is not; old challenges expire.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHALLENGE_WINDOW_MS, UnansweredChallenges } from '../../src/observability/challenges.js';

test('challenged and silent sources are counted by rule; a source that authenticates afterwards is not', () => {
  const ledger = new UnansweredChallenges();
  const now = 1_000_000;
  ledger.challenged('10.20.0.5', 'arc', now);
  ledger.challenged('10.20.0.6', 'arc', now);
  ledger.challenged('10.9.0.1', 'default', now);
  ledger.challenged('10.9.0.2', 'default', now);
  // WinHTTP: asked first, then answers with Basic.
  ledger.authenticated('10.9.0.2');
  assert.deepEqual([...ledger.countByRule(now + 1000)].sort(), [['arc', 2], ['default', 1]]);
});

test('a challenge older than the window is forgotten; a new one counts again', () => {
  const ledger = new UnansweredChallenges();
  ledger.challenged('10.20.0.5', 'arc', 0);
  assert.deepEqual([...ledger.countByRule(CHALLENGE_WINDOW_MS + 1)], []);
  ledger.challenged('10.20.0.5', 'arc', CHALLENGE_WINDOW_MS + 2);
  assert.deepEqual([...ledger.countByRule(CHALLENGE_WINDOW_MS + 3)], [['arc', 1]]);
});

test('a flood of distinct sources is bounded: the oldest are forgotten first', () => {
  const ledger = new UnansweredChallenges();
  for (let i = 0; i < 12_000; i += 1) ledger.challenged(`src-${i}`, 'default', 5);
  assert.equal(ledger.countByRule(6).get('default'), 10_000);
});
