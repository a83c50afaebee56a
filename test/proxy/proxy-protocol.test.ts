import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseProxyHeader, V2_SIGNATURE, type ProxyParse } from '../../src/proxy/proxy-protocol.js';
import { inet4, v2Header } from '../fixtures/proxy-headers.js';

const MAX = 1024;
const parse = (bytes: Buffer | string): ProxyParse => parseProxyHeader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'), MAX);

function inet6(sourceGroups: number[], sourcePort: number): Buffer {
  const block = Buffer.alloc(36);
  sourceGroups.forEach((group, i) => block.writeUInt16BE(group, 2 * i));
  block.writeUInt16BE(1, 30); // destination ::1
  block.writeUInt16BE(sourcePort, 32);
  block.writeUInt16BE(8080, 34);
  return block;
}

const header = (version: 1 | 2, address: string | undefined, port: number | undefined, length: number): ProxyParse => ({
  kind: 'header',
  header: { version, client: address === undefined || port === undefined ? undefined : { address, port } },
  length,
});

describe('v1 (text)', () => {
  const accepted: [string, string, ProxyParse][] = [
    ['TCP4', 'PROXY TCP4 192.0.2.7 10.0.0.1 50123 8080\r\n', header(1, '192.0.2.7', 50123, 42)],
    ['TCP6, canonicalised', 'PROXY TCP6 2001:DB8:0::7 ::1 50123 8080\r\n', header(1, '2001:db8::7', 50123, 41)],
    ['TCP6 carrying a mapped IPv4', 'PROXY TCP6 ::ffff:192.0.2.7 ::1 1 2\r\n', header(1, '::ffff:c000:207', 1, 37)],
    ['port 0 and 65535', 'PROXY TCP4 192.0.2.7 10.0.0.1 0 65535\r\n', header(1, '192.0.2.7', 0, 39)],
    ['UNKNOWN: the connection’s own peer stands', 'PROXY UNKNOWN\r\n', header(1, undefined, undefined, 15)],
    ['UNKNOWN with addresses to ignore', 'PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n', header(1, undefined, undefined, 35)],
  ];
  for (const [title, text, expected] of accepted) test(`accepts ${title}`, () => assert.deepEqual(parse(text), expected));

  test('the bytes after the line are not part of the header', () => {
    const line = 'PROXY TCP4 192.0.2.7 10.0.0.1 50123 8080\r\n';
    assert.deepEqual(parse(`${line}CONNECT x:443 HTTP/1.1\r\n\r\n`), header(1, '192.0.2.7', 50123, line.length));
  });

  const refused: [string, string, string][] = [
    ['a bare LF', 'PROXY TCP4 192.0.2.7 10.0.0.1 50123 8080\n', 'bad-v1-line'],
    ['double spaces', 'PROXY TCP4  192.0.2.7 10.0.0.1 50123 8080\r\n', 'bad-v1-line'],
    ['a missing port', 'PROXY TCP4 192.0.2.7 10.0.0.1 50123\r\n', 'bad-v1-line'],
    ['an extra field', 'PROXY TCP4 192.0.2.7 10.0.0.1 1 2 3\r\n', 'bad-v1-line'],
    ['a control character', 'PROXY TCP4 192.0.2.7\t10.0.0.1 1 2\r\n', 'bad-v1-line'],
    ['an unknown protocol', 'PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n', 'unsupported-family'],
    ['lower-case tcp4', 'PROXY tcp4 192.0.2.7 10.0.0.1 1 2\r\n', 'unsupported-family'],
    ['an IPv6 source under TCP4', 'PROXY TCP4 ::1 10.0.0.1 1 2\r\n', 'bad-address'],
    ['an IPv4 source under TCP6', 'PROXY TCP6 192.0.2.7 ::1 1 2\r\n', 'bad-address'],
    ['a leading-zero IPv4', 'PROXY TCP4 192.0.2.07 10.0.0.1 1 2\r\n', 'bad-address'],
    ['a name', 'PROXY TCP4 client.example 10.0.0.1 1 2\r\n', 'bad-address'],
    ['a zone index', 'PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', 'bad-address'],
    ['a port above 65535', 'PROXY TCP4 192.0.2.7 10.0.0.1 65536 2\r\n', 'bad-port'],
    ['a leading-zero port', 'PROXY TCP4 192.0.2.7 10.0.0.1 080 2\r\n', 'bad-port'],
    ['a signed port', 'PROXY TCP4 192.0.2.7 10.0.0.1 +80 2\r\n', 'bad-port'],
    ['a line over 107 bytes', `PROXY UNKNOWN ${'x'.repeat(100)}\r\n`, 'too-long'],
  ];
  for (const [title, text, code] of refused) test(`refuses ${title}`, () => assert.deepEqual(parse(text), { kind: 'invalid', code }));

  test('a line without CRLF is incomplete up to 107 bytes, then too long', () => {
    assert.deepEqual(parse(`PROXY UNKNOWN ${'x'.repeat(92)}`), { kind: 'incomplete' });
    assert.deepEqual(parse(`PROXY UNKNOWN ${'x'.repeat(93)}`), { kind: 'invalid', code: 'too-long' });
  });
});

describe('v2 (binary)', () => {
  test('TCP over IPv4', () => {
    const bytes = v2Header();
    assert.deepEqual(parse(bytes), header(2, '192.0.2.7', 50123, 28));
  });

  test('TCP over IPv6', () => {
    const bytes = v2Header({ family: 0x21, addresses: inet6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7], 443) });
    assert.deepEqual(parse(bytes), header(2, '2001:db8::7', 443, 52));
  });

  test('TLVs are skipped, and the bytes after the header are left alone', () => {
    const tlvs = Buffer.from([0x05, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_UNIQUE_ID "abc"
    const bytes = Buffer.concat([v2Header({ tlvs }), Buffer.from('CONNECT')]);
    assert.deepEqual(parse(bytes), header(2, '192.0.2.7', 50123, 34));
  });

  test('LOCAL (health checks): the connection’s own peer stands, whatever the family', () => {
    assert.deepEqual(parse(v2Header({ command: 0, family: 0x00, addresses: Buffer.alloc(0) })), header(2, undefined, undefined, 16));
    assert.deepEqual(parse(v2Header({ command: 0 })), header(2, undefined, undefined, 28));
  });

  test('UNSPEC and UNIX sources carry no address we can use', () => {
    assert.deepEqual(parse(v2Header({ family: 0x00, addresses: Buffer.alloc(0) })), header(2, undefined, undefined, 16));
    assert.deepEqual(parse(v2Header({ family: 0x31, addresses: Buffer.alloc(216) })), header(2, undefined, undefined, 232));
  });

  const refused: [string, Buffer, string][] = [
    ['version 1 in the binary form', v2Header({ version: 1 }), 'bad-version'],
    ['version 3', v2Header({ version: 3 }), 'bad-version'],
    ['an unknown command', v2Header({ command: 2 }), 'bad-command'],
    ['UDP', v2Header({ family: 0x12 }), 'unsupported-family'],
    ['an unknown family', v2Header({ family: 0x41 }), 'unsupported-family'],
    ['an unknown protocol', v2Header({ family: 0x13 }), 'unsupported-family'],
    ['an IPv4 block that is too short', v2Header({ addresses: Buffer.alloc(8) }), 'short-address-block'],
    ['an IPv6 block that is too short', v2Header({ family: 0x21, addresses: Buffer.alloc(20) }), 'short-address-block'],
    ['a UNIX block that is too short', v2Header({ family: 0x31, addresses: Buffer.alloc(100) }), 'short-address-block'],
    ['a header over the configured bound', v2Header({ tlvs: Buffer.alloc(MAX) }), 'too-long'],
  ];
  for (const [title, bytes, code] of refused) test(`refuses ${title}`, () => assert.deepEqual(parse(bytes), { kind: 'invalid', code }));

  test('the bound is checked from the length field, before the bytes arrive', () => {
    const bytes = v2Header({ length: 60_000 }).subarray(0, 16);
    assert.deepEqual(parse(bytes), { kind: 'invalid', code: 'too-long' });
  });

  test('every truncation of a valid header is incomplete', () => {
    const bytes = v2Header({ tlvs: Buffer.from([1, 0, 2, 0x68, 0x32]) });
    for (let n = 1; n < bytes.length; n++) assert.deepEqual(parse(bytes.subarray(0, n)), { kind: 'incomplete' }, `${n} bytes`);
  });
});

describe('telling a header from ordinary traffic', () => {
  const absent: [string, Buffer | string][] = [
    ['an HTTP request', 'CONNECT ws1.ods.opinsights.azure.com:443 HTTP/1.1\r\n'],
    ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])],
    ['a word that starts like PROXY', 'PROXIED'],
    ['CR LF but not the v2 signature', '\r\n\r\nGET'],
  ];
  for (const [title, bytes] of absent) test(`${title} carries none`, () => assert.deepEqual(parse(bytes), { kind: 'absent' }));

  test('prefixes of either signature are incomplete', () => {
    for (const prefix of ['P', 'PROX', 'PROXY']) assert.deepEqual(parse(prefix), { kind: 'incomplete' }, prefix);
    for (let n = 1; n < V2_SIGNATURE.length; n++) assert.deepEqual(parse(V2_SIGNATURE.subarray(0, n)), { kind: 'incomplete' });
    assert.deepEqual(parse(Buffer.alloc(0)), { kind: 'incomplete' });
  });
});

describe('properties', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((octets) => octets.join('.'));
  const port = fc.nat(65535);

  test('no byte sequence makes the parser throw, and a header never claims more bytes than it was given', () => {
    const prefixed = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.concat([V2_SIGNATURE, Buffer.from(bytes)])),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.concat([Buffer.from('PROXY '), Buffer.from(bytes)])),
      fc.string({ maxLength: 120 }).map((text) => Buffer.from(`PROXY ${text}`, 'latin1')),
    );
    fc.assert(
      fc.property(prefixed, fc.integer({ min: 16, max: 70_000 }), (bytes, max) => {
        const result = parseProxyHeader(bytes, max);
        if (result.kind === 'header') {
          assert.ok(result.length <= bytes.length);
          assert.ok(result.length <= Math.max(max, 107));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('v1 and v2 headers carrying the same client agree, split anywhere', () => {
    fc.assert(
      fc.property(v4, port, fc.nat(100), (address, sourcePort, cut) => {
        const v1 = Buffer.from(`PROXY TCP4 ${address} 10.0.0.1 ${sourcePort} 8080\r\n`, 'latin1');
        const v2 = v2Header({ addresses: inet4(address, '10.0.0.1', sourcePort, 8080) });
        for (const bytes of [v1, v2]) {
          const full = parseProxyHeader(bytes, MAX);
          assert.equal(full.kind, 'header');
          if (full.kind === 'header') assert.deepEqual(full.header.client, { address, port: sourcePort });
          const at = cut % bytes.length;
          assert.deepEqual(parseProxyHeader(bytes.subarray(0, at), MAX), { kind: 'incomplete' });
        }
      }),
      { numRuns: 500 },
    );
  });
});
