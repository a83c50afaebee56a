// Lines for pino's file destination (SonicBoom), handed over in blocks of log.bufferBytes. SonicBoom's own
// batching (its minLength) measures the whole waiting text at every line, Buffer.byteLength of a string that
// grows by concatenation and is flattened again each time: about 2 KB copied per line at 4 KB blocks, 6 KB of
// a tunnel set-up's allocation (docs/performance.md). Collected here, a block is measured once.

/** What this needs of the destination: SonicBoom's write and flush. */
export interface BlockSink {
  write(text: string): boolean;
  flush(done?: (err?: Error) => void): void;
}

export class LineBlocks {
  readonly #sink: BlockSink;
  /** Lines are handed to the sink once this many characters wait. */
  readonly #blockChars: number;
  #pending = '';

  constructor(sink: BlockSink, blockChars: number) {
    this.#sink = sink;
    this.#blockChars = blockChars;
  }

  write(line: string): boolean {
    this.#pending += line;
    return this.#pending.length >= this.#blockChars ? this.#hand() : true;
  }

  /** Hands the waiting lines over and flushes the sink (the 0.1 s timer, pino's logger.flush). */
  flush(done?: (err?: Error) => void): void {
    this.#hand();
    this.#sink.flush(done);
  }

  #hand(): boolean {
    if (this.#pending === '') return true;
    const block = this.#pending;
    this.#pending = '';
    return this.#sink.write(block);
  }
}
