// /healthz and /readyz answers: readiness follows the gateway's state, liveness fails after an event-loop stall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopWatch, liveness, readiness, type GatewayState } from '../../src/observability/health.js';

const enforcing = { config: { policy: { mode: 'enforce' as const } } };

test('readiness: ready only with listeners bound and no drain under way', () => {
  const cases: readonly { name: string; state: GatewayState; status: number; body: string }[] = [
    { name: 'serving', state: { isReady: () => true, draining: false, listeners: [1, 2], runtime: enforcing }, status: 200, body: 'ready' },
    { name: 'draining', state: { isReady: () => false, draining: true, listeners: [1], runtime: enforcing }, status: 503, body: 'draining' },
    { name: 'listeners not bound yet', state: { isReady: () => false, draining: false, listeners: [], runtime: enforcing }, status: 503, body: 'starting' },
  ];
  for (const { name, state, status, body } of cases) {
    const answer = readiness(state);
    assert.equal(answer.status, status, name);
    assert.equal(answer.body.status, body, name);
    assert.deepEqual((answer.body.checks as Record<string, unknown>).listeners, { ok: state.listeners.length > 0, bound: state.listeners.length }, name);
  }
});

test('liveness fails after the event loop was blocked longer than allowed, then recovers', async () => {
  const watch = new EventLoopWatch();
  try {
    await sleep(100);
    const blockedUntil = Date.now() + 600;
    while (Date.now() < blockedUntil) {
      // Busy: nothing else on this thread runs, exactly what a stuck gateway looks like.
    }
    await sleep(50);
    const stalled = liveness(watch, 0.3);
    assert.equal(stalled.status, 503);
    assert.equal(stalled.body.status, 'event-loop-stalled');
    assert.ok(Number(stalled.body.eventLoopDelaySeconds) >= 0.5, `measured ${String(stalled.body.eventLoopDelaySeconds)} s`);

    await sleep(200);
    const recovered = liveness(watch, 2);
    assert.equal(recovered.status, 200);
    assert.equal(recovered.body.status, 'ok');
    assert.ok(Number(recovered.body.eventLoopDelaySeconds) < 0.5, 'the stall is reported once, not forever');
  } finally {
    watch.close();
  }
});
