// Reads of the sockets the gateway dials land in one buffer shared by all of them, instead of a fresh
// 64 KiB allocation per read: reads run one at a time on the event loop, so one landing buffer serves every
// socket, and an idle socket holds none. What lands is passed on at once, either copied into the socket's
// stream (before relaying: the HTTP client, the inspection and the relay-proxy handshake read it as usual)
// or, once relaying, copied into a pooled chunk written to the other side. Measured on a loopback relay,
// proxy pinned to one core: 256 KiB landings cost 0.7–0.9 CPU s/GB against 1.4–2.2 for pipe()
// (docs/performance.md).
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

/** The size of the landing buffer and of the pooled chunks: the most one read takes from the kernel. */
export const LANDING_BYTES = 256 * 1024;

/** The landing buffer and the chunks in flight, for every socket one gateway dials. */
export class Landing {
  readonly buffer = Buffer.allocUnsafeSlow(LANDING_BYTES);
  readonly #free: Buffer[] = [];
  readonly #keep: number;

  /** `keep`: free chunks kept for reuse; more in flight than that are left to the garbage collector. */
  constructor(keep = 16) {
    this.#keep = keep;
  }

  /** A chunk holding the first `length` landed bytes. */
  take(length: number): Buffer {
    const chunk = this.#free.pop() ?? Buffer.allocUnsafeSlow(LANDING_BYTES);
    this.buffer.copy(chunk, 0, 0, length);
    return chunk;
  }

  give(chunk: Buffer): void {
    if (this.#free.length < this.#keep) this.#free.push(chunk);
  }
}

/** Something that takes a landed socket's reads once it relays (proxy/relay.ts). */
export interface ChunkSink {
  /** Writes `chunk` on; `release` hands it back once written. False: stop reading until resumed. */
  landed(chunk: Buffer, release: () => void): boolean;
}

/**
 * Node calls a socket's `onread` callback as a method of the socket, so one function serves every landed
 * socket: none holds a closure of its own for its life (issue 14: memory per idle tunnel).
 */
function onLanded(this: LandedSocket, length: number): boolean {
  return this.land(length);
}

/** A socket whose reads land in a shared Landing; `redirect` sends them to a sink instead of its stream. */
export class LandedSocket extends Socket {
  readonly #landing: Landing;
  #sink: ChunkSink | undefined;

  constructor(landing: Landing, options: Omit<SocketConstructorOpts, 'onread'> = {}) {
    // Node reads `onread` in the constructor (lib/net.js); @types/node lists it for connect() only.
    const withLanding: SocketConstructorOpts & { onread: OnReadOpts } = Object.assign({}, options, {
      onread: { buffer: landing.buffer, callback: onLanded },
    });
    super(withLanding);
    this.#landing = landing;
  }

  /** `length` bytes landed: into the stream, or once redirected, to the sink as a pooled chunk. */
  land(length: number): boolean {
    const landing = this.#landing;
    const sink = this.#sink;
    if (sink === undefined) return this.push(Buffer.from(landing.buffer.subarray(0, length)));
    const chunk = landing.take(length);
    return sink.landed(chunk.subarray(0, length), () => landing.give(chunk));
  }

  /**
   * From now on every read goes to `sink` as a pooled chunk instead of into the stream; the sink writes it on
   * and returns false to stop reading (the caller resumes the socket). What the stream already holds is
   * read as before, and the end is still the stream's 'end'.
   */
  redirect(sink: ChunkSink): void {
    this.#sink = sink;
  }
}
