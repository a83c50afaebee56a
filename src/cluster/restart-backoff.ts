// How soon a worker that ended unexpectedly is replaced: at once the first time, then ever more slowly
// while workers keep failing, and at once again after a calm spell.

export interface BackoffSettings {
  readonly minMs: number;
  readonly maxMs: number;
  /** A failure this long after the previous one counts as a first failure again. */
  readonly calmMs: number;
}

export const RESTART_BACKOFF: BackoffSettings = { minMs: 500, maxMs: 30_000, calmMs: 60_000 };

export class RestartBackoff {
  readonly #settings: BackoffSettings;
  #delayMs = 0;
  #last = Number.NEGATIVE_INFINITY;

  constructor(settings: BackoffSettings = RESTART_BACKOFF) {
    this.#settings = settings;
  }

  /** The delay before the replacement of a worker that failed at `now`. */
  next(now: number): number {
    const { minMs, maxMs, calmMs } = this.#settings;
    this.#delayMs = now - this.#last > calmMs ? 0 : Math.min(Math.max(this.#delayMs * 2, minMs), maxMs);
    this.#last = now;
    return this.#delayMs;
  }
}
