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

/** Keeps this thread busy: nothing else runs, exactly what a stuck gateway looks like. */
function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

test('liveness fails after the event loop was blocked longer than allowed, for every caller within the window, then recovers', async () => {
  const watch = new EventLoopWatch();
  try {
    await sleep(100);
    block(1200);
    await sleep(50);
    const stalled = liveness(watch, 0.8, 2);
    assert.equal(stalled.status, 503);
    assert.equal(stalled.body.status, 'event-loop-stalled');
    assert.equal(stalled.body.stallReportSeconds, 2);
    assert.ok(Number(stalled.body.eventLoopDelaySeconds) >= 1, `measured ${String(stalled.body.eventLoopDelaySeconds)} s`);

    // Issue 16: a check no longer clears the stall, so a poller that asks next (the kubelet after a person's
    // curl) still sees it, also after the sampling timer has taken it from Node's monitor.
    await sleep(1200);
    for (let i = 0; i < 3; i++) assert.equal(liveness(watch, 0.8, 2).status, 503, `check ${i + 2} within the window`);

    // Past the window the stall is no longer reported.
    await sleep(1500);
    const recovered = liveness(watch, 0.8, 2);
    assert.equal(recovered.status, 200);
    assert.equal(recovered.body.status, 'ok');
    assert.ok(Number(recovered.body.eventLoopDelaySeconds) < 0.8, `still ${String(recovered.body.eventLoopDelaySeconds)} s`);
  } finally {
    watch.close();
  }
});
