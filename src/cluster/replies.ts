// Requests the supervisor sends its workers and the answers it waits for: each request gets a number the
// answer carries back, a deadline, and fails at once when its worker exits.

import type { FromWorker } from './messages.js';

export type Reply = Extract<FromWorker, { id: number }>;

/**
 * A worker failed what it was asked (start, reload: `code` is its own error's, e.g. EADDRINUSE), did not
 * answer in time ('ETIMEDOUT'), or exited first.
 */
export class WorkerError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'WorkerError';
    this.code = code;
  }
}

interface Pending {
  readonly worker: number;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class Replies {
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  /** Calls `send` with the request's number and resolves with the worker's answer to it. */
  request(worker: number, send: (id: number) => void, timeoutMs: number): Promise<Reply> {
    this.#next += 1;
    const id = this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new WorkerError(`worker ${worker} did not answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      this.#pending.set(id, { worker, resolve, reject, timer });
      send(id);
    });
  }

  /** An answer arrived; one nobody waits for any more (timed out) is dropped. */
  settle(reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.#pending.delete(reply.id);
    pending.resolve(reply);
  }

  /** The worker exited: whatever it was asked fails now rather than at its deadline. */
  abandon(worker: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.worker !== worker) continue;
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(new WorkerError(`worker ${worker} exited`, undefined));
    }
  }
}
