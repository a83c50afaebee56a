// The handshake parser on real handshakes, captured now from Node's tls, curl and openssl s_client (TLS 1.2
// and 1.3, with and without SNI and client certificates), and on every byte sequence fast-check can think of.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  firstCertificate,
  highestVersion,
  parseClientHello,
  serverHelloVersion,
  TLS_VERSIONS,
  versionName,
  type ClientHello,
} from '../../src/tls/clienthello.js';
import { CONTENT_TYPE, HANDSHAKE_TYPE, readHandshakeStream, type HandshakeMessage } from '../../src/tls/records.js';
import { agentCertificate, AGENT_WORKSPACE, captureHandshake, captureHello, curlClient, nodeClient, opensslClient, SERVER_NAME, type ClientCertificate, type Client } from './capture.js';

const TLS12 = TLS_VERSIONS['TLSv1.2'];
const TLS13 = TLS_VERSIONS['TLSv1.3'];
const LIMIT = 1 << 20;

function helloOf(bytes: Buffer): ClientHello {
  const stream = readHandshakeStream(bytes, LIMIT);
  assert.equal(stream.error, undefined);
  const [first] = stream.messages;
  assert.equal(first?.type, HANDSHAKE_TYPE.clientHello);
  const parsed = parseClientHello(first.body);
  assert.ok(parsed.ok, `ClientHello did not parse: ${parsed.ok ? '' : parsed.error}`);
  return parsed.hello;
}

/** Re-frames handshake messages into records whose fragments have the given sizes (cycled). */
function reframe(messages: readonly HandshakeMessage[], sizes: readonly number[]): Buffer {
  const handshake = Buffer.concat(
    messages.map((message) => {
      const header = Buffer.alloc(4);
      header[0] = message.type;
      header.writeUIntBE(message.body.length, 1, 3);
      return Buffer.concat([header, message.body]);
    }),
  );
  const records: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < handshake.length; i++) {
    const size = Math.min(sizes[i % sizes.length] ?? 1, handshake.length - at);
    const header = Buffer.from([CONTENT_TYPE.handshake, 3, 1, 0, 0]);
    header.writeUInt16BE(size, 3);
    records.push(header, handshake.subarray(at, at + size));
    at += size;
  }
  return Buffer.concat(records);
}

describe('ClientHellos of real clients', () => {
  const cases: readonly { name: string; client: Client; sni: string | undefined; max: number }[] = [
    { name: "Node's tls, TLS 1.3", client: nodeClient(), sni: SERVER_NAME, max: TLS13 },
    { name: "Node's tls, TLS 1.2 only", client: nodeClient({ maxVersion: 'TLSv1.2' }), sni: SERVER_NAME, max: TLS12 },
    { name: "Node's tls without SNI", client: nodeClient({ servername: '' }), sni: undefined, max: TLS13 },
    { name: 'curl', client: curlClient(), sni: SERVER_NAME, max: TLS13 },
    { name: 'curl --tls-max 1.2', client: curlClient(['--tls-max', '1.2']), sni: SERVER_NAME, max: TLS12 },
    { name: 'openssl s_client -tls1_2', client: opensslClient(['-servername', SERVER_NAME, '-tls1_2']), sni: SERVER_NAME, max: TLS12 },
    { name: 'openssl s_client -tls1_3', client: opensslClient(['-servername', SERVER_NAME, '-tls1_3']), sni: SERVER_NAME, max: TLS13 },
    { name: 'openssl s_client -noservername', client: opensslClient(['-noservername']), sni: undefined, max: TLS13 },
  ];
  const captured = new Map<string, Buffer>();
  before(async () => {
    const hellos = await Promise.all(cases.map((c) => captureHello(c.client)));
    cases.forEach((c, index) => captured.set(c.name, hellos[index] ?? Buffer.alloc(0)));
  });

  for (const { name, sni, max } of cases) {
    test(`${name}: server name ${sni ?? '(none)'}, highest version ${versionName(max)}`, () => {
      const hello = helloOf(captured.get(name) ?? Buffer.alloc(0));
      assert.equal(hello.serverName, sni);
      assert.equal(highestVersion(hello), max);
      assert.equal(hello.legacyVersion, TLS12, 'TLS 1.3 keeps legacy_version at 1.2 (RFC 8446 §4.1.2)');
    });
  }

  test('the same ClientHello split into records of 1, 7 and 100 bytes reads the same', () => {
    const bytes = captured.get('curl') ?? Buffer.alloc(0);
    const { messages } = readHandshakeStream(bytes, LIMIT);
    for (const sizes of [[1], [7], [100], [3, 250, 1]]) {
      assert.deepEqual(helloOf(reframe(messages, sizes)), helloOf(bytes), `fragments of ${sizes.join(',')}`);
    }
  });

  test('a prefix of a ClientHello is incomplete, never an error', () => {
    const bytes = captured.get("Node's tls, TLS 1.3") ?? Buffer.alloc(0);
    for (let cut = 0; cut < bytes.length; cut++) {
      const stream = readHandshakeStream(bytes.subarray(0, cut), LIMIT);
      assert.equal(stream.error, undefined, `cut at ${cut}`);
      assert.equal(stream.messages.length, 0, `cut at ${cut}`);
    }
  });

  test('a ClientHello longer than the limit is refused before it is complete', () => {
    const bytes = captured.get('curl') ?? Buffer.alloc(0);
    assert.equal(readHandshakeStream(bytes.subarray(0, 9), 64).error, 'too-large');
  });
});

describe('whole handshakes of real clients', () => {
  let agent: ClientCertificate;
  before(async () => {
    agent = await agentCertificate();
  });

  const certificateOf = (recording: { client: Buffer }): X509Certificate | undefined => {
    const stream = readHandshakeStream(recording.client, LIMIT);
    const message = stream.messages.find((m) => m.type === HANDSHAKE_TYPE.certificate);
    if (message === undefined) return undefined;
    const result = firstCertificate(message.body);
    assert.ok(result.ok);
    return result.der === undefined ? undefined : new X509Certificate(result.der);
  };
  const negotiated = (recording: { server: Buffer }): number | undefined => {
    const first = readHandshakeStream(recording.server, LIMIT).messages[0];
    assert.equal(first?.type, HANDSHAKE_TYPE.serverHello);
    return serverHelloVersion(first.body);
  };

  const withCertificate: readonly { name: string; client: () => Client }[] = [
    { name: 'curl --cert', client: () => curlClient(['--tls-max', '1.2', '--cert', agent.certFile, '--key', agent.keyFile]) },
    { name: 'openssl s_client -cert', client: () => opensslClient(['-servername', SERVER_NAME, '-tls1_2', '-cert', agent.certFile, '-key', agent.keyFile]) },
    { name: "Node's tls with cert and key", client: () => nodeClient({ maxVersion: 'TLSv1.2', cert: agent.certPem, key: agent.keyPem }) },
  ];
  for (const { name, client } of withCertificate) {
    test(`${name} under TLS 1.2: the ServerHello says 1.2 and the client's certificate is read in the clear`, async () => {
      const recording = await captureHandshake({ maxVersion: 'TLSv1.2', requestCert: true }, client());
      assert.equal(negotiated(recording), TLS12);
      const certificate = certificateOf(recording);
      assert.ok(certificate, 'no Certificate message before the ChangeCipherSpec');
      assert.equal(certificate.fingerprint256, new X509Certificate(agent.certPem).fingerprint256);
      assert.match(certificate.subject, new RegExp(`CN=${AGENT_WORKSPACE}`));
    });
  }

  test('a client asked for a certificate that has none sends an empty Certificate message (TLS 1.2)', async () => {
    const recording = await captureHandshake({ maxVersion: 'TLSv1.2', requestCert: true }, nodeClient({ maxVersion: 'TLSv1.2' }));
    const stream = readHandshakeStream(recording.client, LIMIT);
    const message = stream.messages.find((m) => m.type === HANDSHAKE_TYPE.certificate);
    assert.ok(message);
    assert.deepEqual(firstCertificate(message.body), { ok: true, der: undefined });
    assert.equal(stream.endedBy, CONTENT_TYPE.changeCipherSpec);
  });

  test('without a certificate request the client goes from ClientHello to ClientKeyExchange (TLS 1.2)', async () => {
    const recording = await captureHandshake({ maxVersion: 'TLSv1.2' }, curlClient(['--tls-max', '1.2']));
    const types = readHandshakeStream(recording.client, LIMIT).messages.map((m) => m.type);
    assert.deepEqual(types, [HANDSHAKE_TYPE.clientHello, HANDSHAKE_TYPE.clientKeyExchange]);
  });

  test('under TLS 1.3 the ServerHello says 1.3 and the client certificate is never in the clear', async () => {
    const recording = await captureHandshake({ requestCert: true }, curlClient(['--cert', agent.certFile, '--key', agent.keyFile]));
    assert.equal(negotiated(recording), TLS13);
    assert.equal(certificateOf(recording), undefined);
    const stream = readHandshakeStream(recording.client, LIMIT);
    assert.ok(stream.endedBy === CONTENT_TYPE.changeCipherSpec || stream.endedBy === CONTENT_TYPE.applicationData);
  });
});

describe('malformed input', () => {
  const hello = (extensions: Buffer, opts: { sessionId?: number; suites?: number } = {}): Buffer => {
    const suites = opts.suites ?? 2;
    const body = Buffer.concat([
      Buffer.from([3, 3]),
      Buffer.alloc(32),
      Buffer.from([opts.sessionId ?? 0]),
      Buffer.alloc(opts.sessionId ?? 0),
      Buffer.from([suites >> 8, suites & 0xff]),
      Buffer.alloc(suites, 0x2f),
      Buffer.from([1, 0]),
      extensions,
    ]);
    return body;
  };
  const extensionBlock = (...extensions: Buffer[]): Buffer => {
    const all = Buffer.concat(extensions);
    return Buffer.concat([Buffer.from([all.length >> 8, all.length & 0xff]), all]);
  };
  const extension = (type: number, data: Buffer): Buffer => {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(type, 0);
    header.writeUInt16BE(data.length, 2);
    return Buffer.concat([header, data]);
  };
  const serverName = (...names: string[]): Buffer => {
    const entries = Buffer.concat(names.map((name) => Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 0xff]), Buffer.from(name, 'latin1')])));
    return extension(0, Buffer.concat([Buffer.from([entries.length >> 8, entries.length & 0xff]), entries]));
  };

  const cases: readonly { name: string; body: Buffer; expect: ReturnType<typeof parseClientHello> }[] = [
    { name: 'no extensions (TLS 1.2 allows it)', body: hello(Buffer.alloc(0)), expect: { ok: true, hello: { legacyVersion: TLS12, versions: [TLS12], serverName: undefined } } },
    { name: 'one server name', body: hello(extensionBlock(serverName('a.example'))), expect: { ok: true, hello: { legacyVersion: TLS12, versions: [TLS12], serverName: 'a.example' } } },
    { name: 'two host names', body: hello(extensionBlock(serverName('a.example', 'b.example'))), expect: { ok: false, error: 'malformed' } },
    { name: 'a server name with a space', body: hello(extensionBlock(serverName('a .example'))), expect: { ok: false, error: 'bad-server-name' } },
    { name: 'a server name with a NUL', body: hello(extensionBlock(serverName('a.example\u0000.evil'))), expect: { ok: false, error: 'bad-server-name' } },
    { name: 'the same extension twice', body: hello(extensionBlock(serverName('a'), serverName('a'))), expect: { ok: false, error: 'malformed' } },
    { name: 'a session ID of 33 bytes', body: hello(Buffer.alloc(0), { sessionId: 33 }), expect: { ok: false, error: 'malformed' } },
    { name: 'an odd cipher-suite length', body: hello(Buffer.alloc(0), { suites: 3 }), expect: { ok: false, error: 'malformed' } },
    { name: 'no cipher suite', body: hello(Buffer.alloc(0), { suites: 0 }), expect: { ok: false, error: 'malformed' } },
    { name: 'bytes after the extensions', body: Buffer.concat([hello(extensionBlock()), Buffer.from([0])]), expect: { ok: false, error: 'malformed' } },
    {
      name: 'supported_versions with GREASE and 1.3',
      body: hello(extensionBlock(extension(43, Buffer.from([4, 0x3a, 0x3a, 3, 4])))),
      expect: { ok: true, hello: { legacyVersion: TLS12, versions: [TLS13], serverName: undefined } },
    },
    { name: 'an empty supported_versions', body: hello(extensionBlock(extension(43, Buffer.from([0])))), expect: { ok: false, error: 'malformed' } },
  ];
  for (const { name, body, expect } of cases) {
    test(`ClientHello with ${name}`, () => assert.deepEqual(parseClientHello(body), expect));
  }

  const streams: readonly { name: string; bytes: number[]; error: string | undefined; endedBy?: number }[] = [
    { name: 'an HTTP request', bytes: [...Buffer.from('GET / HTTP/1.1\r\n')], error: 'not-tls' },
    { name: 'an SSH banner', bytes: [...Buffer.from('SSH-2.0-')], error: 'not-tls' },
    { name: 'an SSLv2-compatible hello', bytes: [0x80, 0x2e, 0x01, 0x03, 0x01], error: 'not-tls' },
    { name: 'record major version 2', bytes: [22, 2, 0], error: 'not-tls' },
    { name: 'an empty handshake record', bytes: [22, 3, 1, 0, 0], error: 'malformed-record' },
    { name: 'a record longer than 2^14', bytes: [22, 3, 1, 0x40, 0x01], error: 'malformed-record' },
    { name: 'an alert first', bytes: [21, 3, 3, 0, 2, 2, 40], error: undefined, endedBy: 21 },
    { name: 'a handshake cut by a ChangeCipherSpec', bytes: [22, 3, 3, 0, 2, 1, 0, 20, 3, 3, 0, 1, 1], error: 'malformed-handshake', endedBy: 20 },
    { name: 'a bad second record header', bytes: [22, 3, 3, 0, 4, 1, 0, 0, 0, 99, 3, 3], error: 'malformed-record' },
  ];
  for (const { name, bytes, error, endedBy } of streams) {
    test(`record stream of ${name}`, () => {
      const stream = readHandshakeStream(Uint8Array.from(bytes), LIMIT);
      assert.equal(stream.error, error);
      if (endedBy !== undefined) assert.equal(stream.endedBy, endedBy);
    });
  }

  test('a Certificate message whose list length disagrees with its body is refused', () => {
    assert.deepEqual(firstCertificate(Uint8Array.from([0, 0, 5, 0, 0, 1, 7])), { ok: false });
    assert.deepEqual(firstCertificate(Uint8Array.from([0, 0, 3, 0, 0, 0])), { ok: false });
    assert.deepEqual(firstCertificate(Uint8Array.from([0, 0, 0])), { ok: true, der: undefined });
  });

  test('version names', () => {
    assert.deepEqual([0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x7f1c].map(versionName), ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', '0x7f1c']);
  });
});

describe('no byte sequence makes the parsers throw or read past their input', () => {
  const bytes = fc.uint8Array({ maxLength: 600 });
  /** Byte strings that start like a handshake record, so the fuzzing reaches past the first check. */
  const recordish = fc
    .tuple(fc.constantFrom(20, 21, 22, 23), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 600 }))
    .map(([type, minor, rest]) => {
      const header = Uint8Array.from([type, 3, minor, rest.length >> 8, rest.length & 0xff]);
      return Uint8Array.from([...header, ...rest]);
    });

  test('readHandshakeStream', () => {
    fc.assert(
      fc.property(fc.oneof(bytes, recordish), fc.integer({ min: 0, max: 1 << 16 }), (input, limit) => {
        const stream = readHandshakeStream(input, limit);
        const total = stream.messages.reduce((sum, message) => sum + 4 + message.body.length, 0);
        assert.ok(total <= input.length, 'messages hold more bytes than the input');
        for (const message of stream.messages) assert.ok(message.body.length <= limit);
      }),
      { numRuns: 3000 },
    );
  });

  test('parseClientHello, serverHelloVersion and firstCertificate', () => {
    fc.assert(
      fc.property(bytes, (input) => {
        const hello = parseClientHello(input);
        if (hello.ok && hello.hello.serverName !== undefined) assert.ok(hello.hello.serverName.length <= input.length);
        const version = serverHelloVersion(input);
        assert.ok(version === undefined || (version >= 0 && version <= 0xffff));
        const certificate = firstCertificate(input);
        if (certificate.ok && certificate.der !== undefined) assert.ok(certificate.der.length <= input.length);
      }),
      { numRuns: 5000 },
    );
  });

  test('a real ClientHello with any one byte changed, or cut anywhere, parses or is refused, never throws', async () => {
    const real = readHandshakeStream(await captureHello(nodeClient()), LIMIT).messages[0]?.body ?? new Uint8Array(0);
    assert.ok(real.length > 100);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: real.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: real.length }), (at, value, cut) => {
        const changed = Uint8Array.from(real);
        changed[at] = value;
        parseClientHello(changed);
        parseClientHello(real.subarray(0, cut));
        readHandshakeStream(reframe([{ type: 1, body: changed }], [at + 1]), LIMIT);
      }),
      { numRuns: 5000 },
    );
  });
});
