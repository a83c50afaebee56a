// One coarse timer for every open tunnel's idle, half-closed and lifetime limits. A Node timer per socket
// costs a Timeout object, a list entry and a re-arm on every chunk read or written; tens of thousands of
// tunnels that mostly sit idle for an hour need none of that precision. Entries are kept in slots of
// `resolutionMs` and run at the first tick at or after their time: never early, at most about one
// resolution late. The clock and the scheduling of ticks are passed in, so tests drive time themselves.

/** What the wheel runs when its time has come; it may schedule itself again. */
export interface Expiring {
  expire(now: number): void;
}

export interface WheelClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Arranges one call of `tick` after `ms`; the returned function cancels it. */
  after(ms: number, tick: () => void): () => void;
}

/** performance.now() and an unref'd setTimeout: the wheel never holds the process open. */
export const systemClock: WheelClock = {
  now: () => performance.now(),
  after: (ms, tick) => {
    const timer = setTimeout(tick, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export class TimerWheel {
  readonly resolutionMs: number;
  readonly #clock: WheelClock;
  readonly #slots = new Map<number, Set<Expiring>>();
  readonly #slotOf = new Map<Expiring, number>();
  /** The last slot run; entries are never put at or before it. */
  #done = 0;
  #now: number;
  #cancelTick: (() => void) | undefined;
  /** Inside #tick, which arms the next tick itself once its entries have run. */
  #ticking = false;

  constructor(resolutionMs: number, clock: WheelClock = systemClock) {
    this.resolutionMs = resolutionMs;
    this.#clock = clock;
    this.#now = clock.now();
  }

  /**
   * The time of the last tick while entries are waiting (no clock read: cheap enough for every chunk
   * relayed); it lags the clock by up to a resolution.
   */
  get now(): number {
    return this.#cancelTick === undefined ? this.#clock.now() : this.#now;
  }

  /** The clock's time, for what is read once (a tunnel's start) rather than per chunk. */
  clockNow(): number {
    return this.#clock.now();
  }

  /** How many entries are waiting. */
  get size(): number {
    return this.#slotOf.size;
  }

  /** Runs `entry.expire` at the first tick at or after `at` (clock milliseconds), replacing any earlier schedule. */
  schedule(entry: Expiring, at: number): void {
    if (this.#cancelTick === undefined && !this.#ticking) this.#start();
    const slot = Math.max(Math.ceil(at / this.resolutionMs), this.#done + 1);
    const current = this.#slotOf.get(entry);
    if (current === slot) return;
    if (current !== undefined) this.#slots.get(current)?.delete(entry);
    this.#slotOf.set(entry, slot);
    let entries = this.#slots.get(slot);
    if (entries === undefined) {
      entries = new Set();
      this.#slots.set(slot, entries);
    }
    entries.add(entry);
  }

  cancel(entry: Expiring): void {
    const slot = this.#slotOf.get(entry);
    if (slot === undefined) return;
    this.#slotOf.delete(entry);
    const entries = this.#slots.get(slot);
    entries?.delete(entry);
    if (entries?.size === 0) this.#slots.delete(slot);
    if (this.#slotOf.size === 0 && !this.#ticking) this.#stop();
  }

  #start(): void {
    this.#now = this.#clock.now();
    this.#done = Math.floor(this.#now / this.resolutionMs);
    this.#arm();
  }

  #stop(): void {
    this.#cancelTick?.();
    this.#cancelTick = undefined;
  }

  /** Ticks at slot boundaries, so an entry waits at most one resolution past its time. */
  #arm(): void {
    const next = (this.#done + 1) * this.resolutionMs;
    this.#cancelTick = this.#clock.after(Math.max(1, next - this.#now), () => this.#tick());
  }

  #tick(): void {
    this.#ticking = true;
    this.#now = this.#clock.now();
    const last = Math.floor(this.#now / this.resolutionMs);
    try {
      // A late tick (a busy event loop) runs every slot it passed.
      while (this.#done < last) {
        this.#done += 1;
        const entries = this.#slots.get(this.#done);
        if (entries === undefined) continue;
        this.#slots.delete(this.#done);
        for (const entry of entries) {
          // Cancelled or moved by an entry that ran before it in this slot.
          if (this.#slotOf.get(entry) !== this.#done) continue;
          this.#slotOf.delete(entry);
          entry.expire(this.#now);
        }
      }
    } finally {
      this.#ticking = false;
      this.#cancelTick = undefined;
      if (this.#slotOf.size > 0) this.#arm();
    }
  }
}
