import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TimerWheel, type Expiring, type WheelClock } from '../../src/proxy/timer-wheel.js';

/** A clock the test moves by hand; `advance` runs the tick the wheel asked for whenever its time has come. */
class ManualClock implements WheelClock {
  time = 0;
  #pending: { at: number; tick: () => void } | undefined;
  armed = 0;

  now(): number {
    return this.time;
  }

  after(ms: number, tick: () => void): () => void {
    assert.equal(this.#pending, undefined, 'the wheel armed a second tick while one was pending');
    this.armed += 1;
    const pending = { at: this.time + ms, tick };
    this.#pending = pending;
    return () => {
      if (this.#pending === pending) this.#pending = undefined;
    };
  }

  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** Moves time to `to`, running each tick due on the way at the time it was due. */
  advance(to: number): void {
    while (this.#pending !== undefined && this.#pending.at <= to) {
      const { at, tick } = this.#pending;
      this.#pending = undefined;
      this.time = Math.max(this.time, at);
      tick();
    }
    this.time = to;
  }
}

/** An entry that records the times it ran at. */
function recorder(onExpire: (now: number) => void = () => undefined): Expiring & { runs: number[] } {
  const runs: number[] = [];
  return {
    runs,
    expire(now) {
      runs.push(now);
      onExpire(now);
    },
  };
}

describe('timer wheel', () => {
  for (const { due, before, runsAt } of [
    { due: 2500, before: 2999, runsAt: 3000 },
    // On a slot boundary: that boundary's tick.
    { due: 2000, before: 1999, runsAt: 2000 },
  ]) {
    test(`an entry due at ${due} runs at the first tick at or after it (${runsAt}), never before`, () => {
      const clock = new ManualClock();
      const wheel = new TimerWheel(1000, clock);
      const entry = recorder();
      wheel.schedule(entry, due);
      clock.advance(before);
      assert.deepEqual(entry.runs, []);
      clock.advance(runsAt);
      assert.deepEqual(entry.runs, [runsAt]);
    });
  }

  test('an entry whose time has passed runs at the next tick', () => {
    const clock = new ManualClock();
    clock.time = 5400;
    const wheel = new TimerWheel(1000, clock);
    const entry = recorder();
    wheel.schedule(entry, 100);
    clock.advance(6000);
    assert.deepEqual(entry.runs, [6000]);
  });

  test('rescheduling moves an entry; cancelling removes it', () => {
    const clock = new ManualClock();
    const wheel = new TimerWheel(1000, clock);
    const moved = recorder();
    const cancelled = recorder();
    wheel.schedule(moved, 1000);
    wheel.schedule(moved, 4000);
    wheel.schedule(cancelled, 2000);
    wheel.cancel(cancelled);
    assert.equal(wheel.size, 1);
    clock.advance(10_000);
    assert.deepEqual(moved.runs, [4000]);
    assert.deepEqual(cancelled.runs, []);
  });

  test('an entry may schedule itself again from expire (a tunnel still active)', () => {
    const clock = new ManualClock();
    const wheel = new TimerWheel(1000, clock);
    const entry: Expiring & { runs: number[] } = recorder((now) => {
      if (now < 5000) wheel.schedule(entry, now + 2000);
    });
    wheel.schedule(entry, 1000);
    clock.advance(20_000);
    assert.deepEqual(entry.runs, [1000, 3000, 5000]);
    assert.equal(wheel.size, 0);
  });

  test('an entry cancelled by another that ran before it in the same slot does not run', () => {
    const clock = new ManualClock();
    const wheel = new TimerWheel(1000, clock);
    const second = recorder();
    const first = recorder(() => wheel.cancel(second));
    wheel.schedule(first, 1000);
    wheel.schedule(second, 1000);
    clock.advance(1000);
    assert.deepEqual(first.runs, [1000]);
    assert.deepEqual(second.runs, []);
  });

  test('a late tick runs every slot it passed, in order', () => {
    const clock = new ManualClock();
    const wheel = new TimerWheel(1000, clock);
    const order: string[] = [];
    wheel.schedule({ expire: () => order.push('b') }, 3000);
    wheel.schedule({ expire: () => order.push('a') }, 1000);
    // The event loop was busy: the tick armed for 1000 comes at 3500.
    clock.time = 3500;
    clock.advance(3500);
    assert.deepEqual(order, ['a', 'b']);
  });

  test('ticks only while entries wait, one tick armed at a time', () => {
    const clock = new ManualClock();
    const wheel = new TimerWheel(1000, clock);
    assert.equal(clock.pending, false);
    const entry = recorder();
    wheel.schedule(entry, 3000);
    wheel.schedule(recorder(), 5000);
    assert.equal(clock.pending, true);
    clock.advance(10_000);
    assert.equal(clock.pending, false, 'nothing left: no tick armed');
    wheel.schedule(entry, 12_000);
    wheel.cancel(entry);
    assert.equal(clock.pending, false, 'the last entry cancelled: the tick is cancelled too');
  });

  test('now is the last tick\'s time while entries wait, the clock\'s otherwise', () => {
    const clock = new ManualClock();
    const wheel = new TimerWheel(1000, clock);
    clock.time = 250;
    assert.equal(wheel.now, 250);
    wheel.schedule(recorder(), 5000);
    clock.advance(1700);
    assert.equal(wheel.now, 1000);
  });
});
