// A bounds-checked reader over bytes received from the network. Every read answers undefined instead of
// reading past the end, so the TLS parsers built on it cannot throw or look outside the bytes they were given.

export class Cursor {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return this.#bytes.length - this.#at;
  }

  /** An unsigned big-endian integer of `width` bytes (1-3). */
  uint(width: 1 | 2 | 3): number | undefined {
    if (this.remaining < width) return undefined;
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 256 + (this.#bytes[this.#at + i] ?? 0);
    this.#at += width;
    return value;
  }

  take(length: number): Uint8Array | undefined {
    if (length < 0 || this.remaining < length) return undefined;
    const part = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return part;
  }

  /** A TLS vector: a `width`-byte length, then that many bytes (RFC 8446 §3.4). */
  vector(width: 1 | 2 | 3): Cursor | undefined {
    const length = this.uint(width);
    if (length === undefined) return undefined;
    const part = this.take(length);
    return part === undefined ? undefined : new Cursor(part);
  }
}
