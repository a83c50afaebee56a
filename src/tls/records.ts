// The TLS record layer as far as a middlebox can read it without keys: the plaintext records a peer sends
// before its first non-handshake record (ChangeCipherSpec, alert, encrypted data), reassembled into handshake
// messages (RFC 8446 §5.1 and §4, RFC 5246 §6.2.1 and §7.4). A message may span records and a record may hold
// several messages; records may be split anywhere by TCP. Pure and bounded: it never throws.

export const CONTENT_TYPE = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

export const HANDSHAKE_TYPE = { clientHello: 1, serverHello: 2, certificate: 11, clientKeyExchange: 16 } as const;

/** RFC 8446 §5.1: a plaintext fragment is at most 2^14 bytes. */
const MAX_FRAGMENT = 16_384;
const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
/** Content types a record may carry: ChangeCipherSpec through heartbeat (RFC 6520). */
const FIRST_CONTENT_TYPE = 20;
const LAST_CONTENT_TYPE = 24;

/**
 * Why the bytes are not a readable TLS handshake: `not-tls` when the first record header is not one at all,
 * `malformed-record` for a bad header later or a bad fragment length, `malformed-handshake` when a handshake
 * message is cut off by another kind of record, `too-large` when a message is longer than the caller allows.
 */
export type StreamError = 'not-tls' | 'malformed-record' | 'malformed-handshake' | 'too-large';

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

function byteAt(data: Uint8Array, index: number): number {
  return data[index] ?? 0;
}

/** Whether the bytes of a record header seen so far (possibly fewer than five) can start a TLS record. */
function plausibleHeader(data: Uint8Array, at: number): boolean {
  const seen = data.length - at;
  if (seen >= 1) {
    const type = byteAt(data, at);
    if (type < FIRST_CONTENT_TYPE || type > LAST_CONTENT_TYPE) return false;
  }
  // Every SSL 3.0 and TLS record version has major 3 (TLS 1.3 keeps 0x0303 on the wire).
  return seen < 2 || byteAt(data, at + 1) === 3;
}

/** The 24-bit length of the handshake message whose header starts `bytes`. */
function messageSize(bytes: Uint8Array): number {
  return byteAt(bytes, 1) * 65_536 + byteAt(bytes, 2) * 256 + byteAt(bytes, 3);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/**
 * Reads the handshake messages at the start of one direction of a TLS connection. Call it again with more
 * bytes appended to get further: it starts from the beginning every time, which is cheap because callers
 * bound `data`. A message longer than `maxMessageBytes` is refused before its bytes arrive.
 */
export function readHandshakeStream(data: Uint8Array, maxMessageBytes: number): HandshakeStream {
  const messages: HandshakeMessage[] = [];
  const result = (endedBy: number | undefined, error: StreamError | undefined): HandshakeStream => ({ messages, endedBy, error });
  let pending: Uint8Array = new Uint8Array(0);
  let at = 0;
  while (at < data.length) {
    if (!plausibleHeader(data, at)) return result(undefined, at === 0 ? 'not-tls' : 'malformed-record');
    if (data.length - at < RECORD_HEADER) break;
    const type = byteAt(data, at);
    if (type !== CONTENT_TYPE.handshake) return result(type, pending.length > 0 ? 'malformed-handshake' : undefined);
    const length = byteAt(data, at + 3) * 256 + byteAt(data, at + 4);
    // RFC 8446 §5.1 and RFC 5246 §6.2.1: handshake fragments are never empty.
    if (length === 0 || length > MAX_FRAGMENT) return result(undefined, 'malformed-record');
    if (data.length - at - RECORD_HEADER < length) {
      // An over-long message is refused as soon as its header shows, not after its bytes have arrived.
      const partial = concat(pending, data.subarray(at + RECORD_HEADER));
      return result(undefined, partial.length >= HANDSHAKE_HEADER && messageSize(partial) > maxMessageBytes ? 'too-large' : undefined);
    }
    pending = concat(pending, data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
    at += RECORD_HEADER + length;
    while (pending.length >= HANDSHAKE_HEADER) {
      const size = messageSize(pending);
      if (size > maxMessageBytes) return result(undefined, 'too-large');
      if (pending.length < HANDSHAKE_HEADER + size) break;
      messages.push({ type: byteAt(pending, 0), body: pending.slice(HANDSHAKE_HEADER, HANDSHAKE_HEADER + size) });
      pending = pending.subarray(HANDSHAKE_HEADER + size);
    }
  }
  return result(undefined, undefined);
}
