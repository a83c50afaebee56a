// A log destination for a pipe or socket: standard output read by journald, a container runtime, or a
// worker's supervisor (cluster/log-relay.ts). pino's file destination hands every write to libuv's thread
// pool, a thread wake-up and a return to the event loop per write: a round trip through the pool per audit
// record when lines are written at once (log.bufferBytes 0, the default). Node's standard output stream on
// a pipe or socket is non-blocking and writes from the event loop itself, queueing in memory only while the
// reader is behind, as the pool's writes queued before.
import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';

export class PipeDestination {
  readonly #stream: Writable;
  /** Lines are handed to the stream once this many characters wait (log.bufferBytes); 0: each at once. */
  readonly #bufferBytes: number;
  #pending = '';
  /** The reader is gone (EPIPE): lines are dropped rather than queued without end. */
  #broken = false;

  /**
   * `stream` is `process.stdout` on a descriptor `suits()` took: the process's one handle for it, so no
   * second one competes for the same descriptor.
   */
  constructor(stream: Writable, bufferBytes = 0) {
    this.#stream = stream;
    this.#bufferBytes = bufferBytes;
    stream.on('error', () => {
      this.#broken = true;
      this.#pending = '';
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
    if (this.#broken) return;
    if (this.#bufferBytes === 0) {
      this.#stream.write(line);
      return;
    }
    this.#pending += line;
    if (this.#pending.length >= this.#bufferBytes) this.#writePending();
  }

  /** Hands waiting lines to the stream, and calls `done` once every line written so far has reached the pipe (pino's logger.flush). */
  flush(done: (err?: Error) => void = () => undefined): void {
    this.#writePending();
    if (this.#broken || this.#stream.writableLength === 0) {
      done();
      return;
    }
    // Writes complete in order: the callback of an empty one runs after all before it.
    this.#stream.write('', () => done());
  }

  #writePending(): void {
    if (this.#pending === '' || this.#broken) return;
    this.#stream.write(this.#pending);
    this.#pending = '';
  }
}
