// The TLS record layer as far as a middlebox can read it without keys: the plaintext records a peer sends
// before its first non-handshake record (ChangeCipherSpec, alert, encrypted data), reassembled into handshake
// messages (RFC 8446 §5.1 and §4, RFC 5246 §6.2.1 and §7.4). A message may span records and a record may hold
// several messages; records may be split anywhere by TCP. It never throws.
//
// The reader keeps its place between segments (issue 16: re-reading everything received on every segment
// made a ClientHello dripped in 5-byte records cost CPU-seconds): each byte is looked at once and copied at
// most once, into a message buffer allocated at the size its header declares, and the records of a
// handshake are capped.

export const CONTENT_TYPE = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

export const HANDSHAKE_TYPE = { clientHello: 1, serverHello: 2, certificate: 11, clientKeyExchange: 16 } as const;

/** RFC 8446 §5.1: a plaintext fragment is at most 2^14 bytes. */
const MAX_FRAGMENT = 16_384;
const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
/** Content types a record may carry: ChangeCipherSpec through heartbeat (RFC 6520). */
const FIRST_CONTENT_TYPE = 20;
const LAST_CONTENT_TYPE = 24;
/** First allocation for a message body: most handshake messages fit. */
const MIN_BODY_BUFFER = 1024;

function byteAt(data: Uint8Array, index: number): number {
  return data[index] ?? 0;
}

/** The 24-bit length of the handshake message whose header starts `bytes`. */
function messageSize(bytes: Uint8Array): number {
  return byteAt(bytes, 1) * 65_536 + byteAt(bytes, 2) * 256 + byteAt(bytes, 3);
}

/**
 * Why the bytes are not a readable TLS handshake: `not-tls` when the first record header is not one at all,
 * `malformed-record` for a bad header later or a bad fragment length, `malformed-handshake` when a handshake
 * message is cut off by another kind of record, `too-large` when a message is longer than the caller allows,
 * `too-many-records` when the handshake records exceed the caller's cap.
 */
export type StreamError = 'not-tls' | 'malformed-record' | 'malformed-handshake' | 'too-large' | 'too-many-records';

export interface HandshakeMessage {
  readonly type: number;
  readonly body: Uint8Array;
}

export interface HandshakeStream {
  /** Complete handshake messages, in order. */
  readonly messages: readonly HandshakeMessage[];
  /** Content type of the first record that is not a handshake record: the readable part ends there. */
  readonly endedBy: number | undefined;
  readonly error: StreamError | undefined;
}

export interface ReaderLimits {
  /** Longest handshake message accepted; a longer one is refused as soon as its header shows. */
  readonly maxMessageBytes: number;
  /** Most handshake records accepted; undefined: no cap. */
  readonly maxRecords?: number;
}

/** Reads the handshake messages of one direction of a TLS connection, a segment at a time. */
export class HandshakeReader implements HandshakeStream {
  readonly #limits: ReaderLimits;
  readonly #messages: HandshakeMessage[] = [];
  #endedBy: number | undefined;
  #error: StreamError | undefined;
  readonly #recordHeader = new Uint8Array(RECORD_HEADER);
  #recordHeaderFill = 0;
  /** Bytes of the current record's fragment still to come; 0 between records. */
  #fragmentLeft = 0;
  /** Bytes of a skipped record (see skipChangeCipherSpec) still to come. */
  #skipLeft = 0;
  readonly #messageHeader = new Uint8Array(HANDSHAKE_HEADER);
  #messageHeaderFill = 0;
  /** The body of the message being read: its declared size, and a buffer that grows towards it as bytes come. */
  #bodySize: number | undefined;
  #body = new Uint8Array(0);
  #bodyFill = 0;
  #records = 0;
  /** Record headers read, of every content type: the first one decides between not-tls and malformed-record. */
  #headers = 0;
  #copied = 0;
  /**
   * ChangeCipherSpec records are stepped over instead of ending the readable part. TLS 1.3 clients send one
   * as a middlebox-compatibility dummy (RFC 8446 §D.4), possibly before a second, still plaintext
   * ClientHello; under TLS 1.2 everything after it is encrypted, so a caller sets this only for TLS 1.3.
   */
  skipChangeCipherSpec = false;

  constructor(limits: ReaderLimits) {
    this.#limits = limits;
  }

  get messages(): readonly HandshakeMessage[] {
    return this.#messages;
  }

  get endedBy(): number | undefined {
    return this.#endedBy;
  }

  get error(): StreamError | undefined {
    return this.#error;
  }

  /** Handshake records read so far. */
  get records(): number {
    return this.#records;
  }

  /** Bytes copied into message buffers so far, growth included: under three times the bytes pushed, whatever the segmentation. */
  get bytesCopied(): number {
    return this.#copied;
  }

  /** Whether more bytes can still add messages: no error and no non-handshake record yet. */
  get open(): boolean {
    return this.#endedBy === undefined && this.#error === undefined;
  }

  /** Reads `chunk`, the bytes that follow everything pushed before. Bytes after the readable part are ignored. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && this.open) {
      if (this.#skipLeft > 0) {
        const skipped = Math.min(this.#skipLeft, chunk.length - at);
        this.#skipLeft -= skipped;
        at += skipped;
      } else if (this.#fragmentLeft === 0) {
        this.#readHeaderByte(byteAt(chunk, at));
        at += 1;
      } else {
        const end = at + Math.min(this.#fragmentLeft, chunk.length - at);
        this.#fragmentLeft -= end - at;
        at = this.#readFragment(chunk, at, end);
      }
    }
  }

  #fail(error: StreamError): void {
    this.#error = error;
  }

  get #partialMessage(): boolean {
    return this.#messageHeaderFill > 0;
  }

  #readHeaderByte(byte: number): void {
    const header = this.#recordHeader;
    header[this.#recordHeaderFill++] = byte;
    const first = this.#headers === 0;
    if (this.#recordHeaderFill === 1 && (byte < FIRST_CONTENT_TYPE || byte > LAST_CONTENT_TYPE)) return this.#fail(first ? 'not-tls' : 'malformed-record');
    // Every SSL 3.0 and TLS record version has major 3 (TLS 1.3 keeps 0x0303 on the wire).
    if (this.#recordHeaderFill === 2 && byte !== 3) return this.#fail(first ? 'not-tls' : 'malformed-record');
    if (this.#recordHeaderFill < RECORD_HEADER) return;
    this.#recordHeaderFill = 0;
    this.#headers += 1;
    const type = byteAt(header, 0);
    const length = byteAt(header, 3) * 256 + byteAt(header, 4);
    if (type === CONTENT_TYPE.changeCipherSpec && this.skipChangeCipherSpec && !this.#partialMessage && length > 0 && length <= MAX_FRAGMENT) {
      this.#skipLeft = length;
      return;
    }
    if (type !== CONTENT_TYPE.handshake) {
      this.#endedBy = type;
      if (this.#partialMessage) this.#fail('malformed-handshake');
      return;
    }
    // RFC 8446 §5.1 and RFC 5246 §6.2.1: handshake fragments are never empty.
    if (length === 0 || length > MAX_FRAGMENT) return this.#fail('malformed-record');
    this.#records += 1;
    if (this.#limits.maxRecords !== undefined && this.#records > this.#limits.maxRecords) return this.#fail('too-many-records');
    this.#fragmentLeft = length;
  }

  /** Reads fragment bytes `chunk[at, end)` into messages; returns where it stopped (`end` unless it failed). */
  #readFragment(chunk: Uint8Array, start: number, end: number): number {
    let at = start;
    while (at < end && this.open) {
      const size = this.#bodySize;
      if (size === undefined) {
        this.#messageHeader[this.#messageHeaderFill++] = byteAt(chunk, at);
        at += 1;
        if (this.#messageHeaderFill === HANDSHAKE_HEADER) this.#startBody();
        continue;
      }
      const take = Math.min(size - this.#bodyFill, end - at);
      this.#reserve(this.#bodyFill + take, size);
      this.#body.set(chunk.subarray(at, at + take), this.#bodyFill);
      this.#bodyFill += take;
      this.#copied += take;
      at += take;
      if (this.#bodyFill === size) this.#completeMessage();
    }
    return at;
  }

  #startBody(): void {
    const size = messageSize(this.#messageHeader);
    if (size > this.#limits.maxMessageBytes) return this.#fail('too-large');
    this.#bodySize = size;
    if (size === 0) this.#completeMessage();
  }

  /**
   * Room for `needed` body bytes. The buffer doubles rather than taking the declared size at once, so nine
   * bytes announcing a large message cost no large allocation; doubling keeps all copies under three times
   * the body's size.
   */
  #reserve(needed: number, size: number): void {
    if (needed <= this.#body.length) return;
    const grown = new Uint8Array(Math.min(size, Math.max(needed, this.#body.length * 2, MIN_BODY_BUFFER)));
    grown.set(this.#body.subarray(0, this.#bodyFill));
    this.#copied += this.#bodyFill;
    this.#body = grown;
  }

  #completeMessage(): void {
    // #reserve never grows past the declared size, so the buffer is exactly the body now.
    this.#messages.push({ type: byteAt(this.#messageHeader, 0), body: this.#body });
    this.#messageHeaderFill = 0;
    this.#bodySize = undefined;
    this.#body = new Uint8Array(0);
    this.#bodyFill = 0;
  }
}

/** Reads the handshake messages at the start of `data`, all of it at once (tests and captures). */
export function readHandshakeStream(data: Uint8Array, maxMessageBytes: number): HandshakeStream {
  const reader = new HandshakeReader({ maxMessageBytes });
  reader.push(data);
  return { messages: [...reader.messages], endedBy: reader.endedBy, error: reader.error };
}
