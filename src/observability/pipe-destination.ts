// A log destination for a pipe or socket: a worker's standard output, which its supervisor reads
// (cluster/log-relay.ts). pino's file destination hands every write to libuv's thread pool, a thread wake-up
// and a return to the event loop per write; a worker writes each record unbuffered (its supervisor's
// destination does the batching), so that was a round trip through the pool per audit record. A
// non-blocking stream writes from the event loop itself, and queues in memory only while the reader is
// behind, as the pool's writes queued before.
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';

export class PipeDestination {
  readonly #socket: Socket;
  /** The reader is gone (EPIPE): lines are dropped rather than queued without end. */
  #broken = false;

  constructor(fd: number) {
    this.#socket = new Socket({ fd, readable: false, writable: true });
    this.#socket.on('error', () => {
      this.#broken = true;
    });
  }

  /** Whether `fd` is a pipe or a socket, which this destination can write; a file or a terminal is not. */
  static suits(fd: number): boolean {
    try {
      const stat = fstatSync(fd);
      return stat.isFIFO() || stat.isSocket();
    } catch {
      return false;
    }
  }

  write(line: string): void {
    if (!this.#broken) this.#socket.write(line);
  }

  /** Calls `done` once every line written so far has reached the pipe (pino's logger.flush). */
  flush(done: (err?: Error) => void): void {
    if (this.#broken || this.#socket.writableLength === 0) {
      done();
      return;
    }
    // Writes complete in order: the callback of an empty one runs after all before it.
    this.#socket.write('', () => done());
  }
}
