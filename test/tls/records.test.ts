// The handshake reader (tls/records.ts) a segment at a time: the same messages whatever the segmentation,
// work linear in the bytes received (counted by the reader itself: bytes copied into message buffers, growth included), and
// the cap on records per handshake.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HandshakeReader, readHandshakeStream } from '../../src/tls/records.js';
import { clientHelloMessage, handshakeMessage, records } from '../fixtures/tls-records.js';

const LIMIT = 65_536;

/** A 60,000-byte ClientHello in records of `fragment` bytes: the drip of issue 16 item 2. */
function drip(fragment: number): { message: Buffer; bytes: Buffer } {
  const message = clientHelloMessage({ serverName: 'ws1.ods.opinsights.azure.com', padding: 60_000 - 200 });
  return { message, bytes: records(message, fragment) };
}

function pushInPieces(reader: HandshakeReader, bytes: Buffer, piece: number): void {
  for (let at = 0; at < bytes.length; at += piece) reader.push(bytes.subarray(at, at + piece));
}

describe('work linear in the bytes received', () => {
  for (const piece of [1, 10, 1000]) {
    test(`a 60,000-byte ClientHello in 5-byte records, pushed ${piece} byte(s) at a time: under three copies per byte`, () => {
      const { message, bytes } = drip(5);
      const reader = new HandshakeReader({ maxMessageBytes: LIMIT });
      pushInPieces(reader, bytes, piece);
      assert.equal(reader.error, undefined);
      assert.equal(reader.messages.length, 1);
      assert.deepEqual(Buffer.from(reader.messages[0]?.body ?? []), message.subarray(4));
      assert.equal(reader.records, Math.ceil(message.length / 5));
      // Re-reading everything on each segment, as before issue 16, copied the pending message once per record: hundreds of MB here.
      assert.ok(reader.bytesCopied < 3 * message.length, `copied ${reader.bytesCopied} bytes for ${bytes.length} received`);
    });
  }

  test('the copies grow with the message, not with the number of segments', () => {
    const copied = [10, 20, 40].map((kb) => {
      const message = clientHelloMessage({ serverName: 'a.example', padding: kb * 1000 });
      const reader = new HandshakeReader({ maxMessageBytes: LIMIT });
      pushInPieces(reader, records(message, 5), 10);
      return reader.bytesCopied / message.length;
    });
    for (const ratio of copied) assert.ok(ratio < 3, `ratio ${ratio}`);
  });

  test('nine bytes announcing a 64 KB message allocate no 64 KB buffer', () => {
    const reader = new HandshakeReader({ maxMessageBytes: LIMIT });
    reader.push(Buffer.from([22, 3, 1, 0, 4, 1, 0, 0xff, 0xf0]));
    assert.equal(reader.error, undefined);
    assert.equal(reader.bytesCopied, 0);
  });
});

describe('records per handshake', () => {
  test('the record after the cap is refused as too-many-records, the last one within it is not', () => {
    const { bytes } = drip(5);
    const capped = new HandshakeReader({ maxMessageBytes: LIMIT, maxRecords: 1024 });
    pushInPieces(capped, bytes.subarray(0, 1024 * 10), 10);
    assert.equal(capped.error, undefined);
    assert.equal(capped.records, 1024);
    capped.push(bytes.subarray(1024 * 10, 1025 * 10));
    assert.equal(capped.error, 'too-many-records');
    assert.equal(capped.open, false);
  });

  test('a ClientHello in 2-byte fragments within the cap passes', () => {
    const message = clientHelloMessage({ serverName: 'ws1.ods.opinsights.azure.com' });
    assert.ok(message.length / 2 <= 1024);
    const reader = new HandshakeReader({ maxMessageBytes: LIMIT, maxRecords: 1024 });
    reader.push(records(message, 2));
    assert.equal(reader.error, undefined);
    assert.equal(reader.messages.length, 1);
  });
});

describe('segment by segment reads what all at once reads', () => {
  const message = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.uint8Array({ maxLength: 300 })).map(([type, body]) => handshakeMessage(type, Buffer.from(body)));
  const stream = fc.tuple(fc.array(message, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 400 }), fc.option(fc.uint8Array({ minLength: 1, maxLength: 20 }), { nil: undefined })).map(([messages, fragment, tail]) =>
    Buffer.concat([records(Buffer.concat(messages), fragment), Buffer.from(tail ?? [])]),
  );
  test('for any stream and any segmentation', () => {
    fc.assert(
      fc.property(fc.oneof(stream, fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b))), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 400 }), (bytes, pieces, limit) => {
        const whole = readHandshakeStream(bytes, limit);
        const reader = new HandshakeReader({ maxMessageBytes: limit });
        for (let at = 0, i = 0; at < bytes.length; i++) {
          const size = pieces[i % pieces.length] ?? 1;
          reader.push(bytes.subarray(at, at + size));
          at += size;
        }
        assert.equal(reader.error, whole.error);
        assert.equal(reader.endedBy, whole.endedBy);
        assert.deepEqual(reader.messages.map((m) => [m.type, Buffer.from(m.body).toString('hex')]), whole.messages.map((m) => [m.type, Buffer.from(m.body).toString('hex')]));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ChangeCipherSpec under TLS 1.3', () => {
  const hello = records(clientHelloMessage({ serverName: 'a.example' }), 16_384);
  const ccs = Buffer.from([20, 3, 3, 0, 1, 1]);
  test('stepped over when asked: a second ClientHello after it is read (HelloRetryRequest)', () => {
    const reader = new HandshakeReader({ maxMessageBytes: LIMIT });
    reader.skipChangeCipherSpec = true;
    reader.push(Buffer.concat([hello, ccs, hello, Buffer.from([23, 3, 3, 0, 1, 0])]));
    assert.equal(reader.messages.length, 2);
    assert.equal(reader.endedBy, 23);
    assert.equal(reader.error, undefined);
  });
  test('otherwise it ends the readable part (TLS 1.2: what follows is encrypted)', () => {
    const reader = new HandshakeReader({ maxMessageBytes: LIMIT });
    reader.push(Buffer.concat([hello, ccs, hello]));
    assert.equal(reader.messages.length, 1);
    assert.equal(reader.endedBy, 20);
  });
  test('inside a message it is malformed, stepped over or not', () => {
    const reader = new HandshakeReader({ maxMessageBytes: LIMIT });
    reader.skipChangeCipherSpec = true;
    // The first 20-byte record of a ClientHello, then a ChangeCipherSpec between the records of that message.
    reader.push(Buffer.concat([records(clientHelloMessage({ serverName: 'a.example' }), 20).subarray(0, 25), ccs]));
    assert.equal(reader.error, 'malformed-handshake');
  });
});
