// A bound on work handed to libuv's thread pool at once. scrypt and getaddrinfo share that pool (four
// threads unless UV_THREADPOOL_SIZE says otherwise) and it serves jobs in arrival order, so a flood of
// password checks on any listener would queue the proxy's name lookups behind every one of them (issue 16,
// item 5). Checks beyond the bound wait here instead, where nothing else waits behind them.

/** Runs at most `limit` tasks at once; the others start in arrival order as running ones end. */
export class Lane {
  readonly limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A task that ends hands its slot to the next one waiting, so `running` never passes the limit.
    if (this.#running < this.limit) this.#running += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}

/** libuv's own rule for the pool's size: UV_THREADPOOL_SIZE read when the pool starts, 4 by default, 1-1024. */
export function threadPoolSize(setting: string | undefined): number {
  const size = Number(setting);
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : 4;
}

/**
 * Half the pool for password checks: libuv keeps slow I/O (getaddrinfo) to half the pool so that other work
 * goes on; this keeps scrypt to the other half, so a lookup never waits for a password check.
 */
export function passwordCheckLimit(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 2));
}
