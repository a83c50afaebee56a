// Issue 16 item 1, "go further": every surface that parses bytes from the network, fed generated malformed
// input against one real gateway. The PROXY header, the TLS sniff and handshake of a TLS listener, client
// certificates of every shape, the ClientHello inside a tunnel (split into records of any size), the
// upstream's ServerHello and the client's Certificate message when the handshake is followed, and the
// Proxy-Authorization header. Properties: the gateway never exits, no input reaches the fault backstop
// (no event 400: every one was refused as a typed refusal of its own connection), and it keeps serving.
// Bounded runs in CI; FUZZ_RUNS raises them.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import fc from 'fast-check';
import forge from 'node-forge';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { expectStillServes } from '../fixtures/refusal.js';
import { certificateMessage, clientHelloMessage, handshakeMessage, records, serverHelloMessage, TLS12, TLS13 } from '../fixtures/tls-records.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';
import { hangBound } from '../fixtures/patience.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const CERT_RUNS = Math.max(10, Math.round(RUNS / 4));
const SERVED = 'served.ods.opinsights.azure.com:443';
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** Writes `bytes`, then waits until the gateway closes the connection or `waitMs` passes; never throws. */
function send(port: number, bytes: Buffer, waitMs = 250): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    socket.on('error', done).on('close', done).on('connect', () => socket.write(bytes));
    socket.resume();
  });
}

/** Writes `bytes` into an open tunnel the same way. */
async function sendThroughTunnel(port: number, host: string, bytes: Buffer, waitMs = 250): Promise<void> {
  const { socket } = await openTunnel(port, `${host}:443`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    socket.on('error', done).on('close', done);
    socket.resume();
    socket.write(bytes);
  });
}

/** A target behind the tunnels whose handshake is followed: it answers the first bytes with `script`. */
interface ScriptedServer {
  readonly port: number;
  script: Buffer;
  close(): Promise<void>;
}

async function startScriptedServer(): Promise<ScriptedServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    socket.once('data', () => socket.write(scripted.script));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const scripted: ScriptedServer = {
    port: (server.address() as AddressInfo).port,
    script: Buffer.alloc(0),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return scripted;
}

/** Flips, overwrites, cuts or extends bytes of `base`: a mutated message a parser must refuse or accept. */
function mutated(base: Buffer): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(base.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(base.length) }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let bytes = Buffer.from(base);
    for (const e of edits) {
      if (e.kind === 'set') {
        if (e.at < bytes.length) bytes[e.at] = e.value;
      } else if (e.kind === 'cut') {
        bytes = bytes.subarray(0, e.at);
      } else {
        bytes = Buffer.concat([bytes, e.bytes]);
      }
    }
    return bytes;
  });
}

const hostName = fc.oneof(
  fc.constantFrom('fuzz.ods.opinsights.azure.com', 'FUZZ.ODS.OPINSIGHTS.AZURE.COM.', 'other.example', '', ' ', 'a'.repeat(300), 'x\u0000y', '\u00e9.ods.opinsights.azure.com'),
  fc.string({ maxLength: 40 }),
);
const versionList = fc.option(fc.array(fc.oneof(fc.constantFrom(0x0300, 0x0301, TLS12, TLS13, 0x0a0a, 0x7f1c), fc.integer({ min: 0, max: 0xffff })), { maxLength: 6 }), { nil: undefined });
const helloMessage = fc
  .record({ serverName: fc.option(hostName, { nil: undefined }), versions: versionList, padding: fc.option(fc.nat(3000), { nil: undefined }) })
  .map((options) => clientHelloMessage(options));

/** A client certificate with generated subject attributes, self-signed with forge (not trusted by the listener). */
function certificateWith(attributes: readonly { type: string; value: string }[], key: forge.pki.rsa.PrivateKey, publicKey: forge.pki.rsa.PublicKey): string | undefined {
  try {
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date(Date.now() - 3_600_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject(attributes.map((a) => ({ type: a.type, value: a.value })));
    cert.setIssuer([{ name: 'commonName', value: 'fuzz' }]);
    cert.sign(key, forge.md.sha256.create());
    return forge.pki.certificateToPem(cert);
  } catch {
    // forge cannot encode every generated attribute; such a certificate never reaches the gateway.
    return undefined;
  }
}

function noFaults(gateway: Gateway): void {
  const faults = gateway.records.filter((r) => r.eventId === 400);
  assert.deepEqual(faults, [], 'an input reached the fault backstop instead of a typed refusal');
}

/** Refusals of `fields` written since `since`: proof that the generator reached the surface at all. */
function refusals(gateway: Gateway, since: number, fields: Readonly<Record<string, unknown>>): number {
  return gateway.records.slice(since).filter(recordMatching(fields)).length;
}

async function stillUp(gateway: Gateway): Promise<void> {
  const state = await Promise.race([gateway.exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('running'), 100))]);
  assert.equal(state, 'running');
  noFaults(gateway);
  await expectStillServes(gateway, SERVED);
}

describe('generated malformed input on every parsing surface of one gateway', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let scripted: ScriptedServer;
  let gateway: Gateway;
  let ports: { plain: number; proxied: number; tls: number };
  let key: forge.pki.rsa.PrivateKey;
  let publicKey: forge.pki.rsa.PublicKey;
  let keyPem: string;
  before(async () => {
    [pki, origin, scripted] = await Promise.all([testPki(), startTlsOrigin(), startScriptedServer()]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    key = forge.pki.privateKeyFromPem(rsa);
    publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    keyPem = rsa;
    gateway = await startGateway({
      listen: [],
      configYaml: [
        'workers: 1',
        'allowedClientCertificates: ["CN=agent, O=Contoso"]',
        'inspection: {hiddenClientCertificates: allow, timeoutSeconds: 2}',
        'limits: {maxConnectionsPerClient: 0}',
        'listen:',
        '  - address: 127.0.0.1:0',
        '  - address: 127.0.0.1:0',
        '    proxyProtocol: {trusted: [127.0.0.1]}',
        '  - address: 127.0.0.1:0',
        `    tls: {cert: ${pki.certFile}, key: ${pki.keyFile}, clientAuth: {ca: ${pki.caFile}}}`,
        '',
      ].join('\n'),
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`, '--resolve', `*.oms.opinsights.azure.com=127.0.0.1:${scripted.port}`],
    });
    const started = gateway.records.find((r) => r.event === 'service-started');
    const [plain, proxied, tls] = (started?.listeners as { port: number }[]).map((l) => l.port);
    assert.ok(plain !== undefined && proxied !== undefined && tls !== undefined);
    ports = { plain, proxied, tls };
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await scripted?.close();
  });

  test(`${RUNS} PROXY headers, v1 and v2, on a listener that trusts the sender`, { timeout: hangBound(300_000) }, async () => {
    const v1Field = fc.oneof(fc.constantFrom('TCP4', 'TCP6', 'UNKNOWN', 'UDP4', '127.0.0.1', '::1', '::ffff:1.2.3.4', '65535', '65536', '0', '-1', '01', '1.2.3', 'fe80::1%eth0', ''), fc.string({ maxLength: 20 }));
    const v1 = fc.tuple(fc.array(v1Field, { maxLength: 8 }), fc.constantFrom('\r\n', '\n', '\r', '', '\r\n\r\n')).map(([fields, end]) => Buffer.from(`PROXY ${fields.join(' ')}${end}`, 'latin1'));
    const v2 = fc
      .tuple(fc.constantFrom(0x20, 0x21, 0x22, 0x11, 0x2f), fc.constantFrom(0x00, 0x11, 0x12, 0x21, 0x31, 0x41, 0x13), fc.oneof(fc.constantFrom(0, 12, 36, 216, 4, 35), fc.integer({ min: 0, max: 0xffff })), fc.uint8Array({ maxLength: 260 }))
      .map(([command, family, length, rest]) => Buffer.concat([V2_SIGNATURE, Buffer.from([command, family, length >> 8, length & 0xff]), rest]));
    const header = fc.oneof(v1, v2, fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)));
    const after = fc.constantFrom('', `CONNECT ${SERVED} HTTP/1.1\r\nHost: ${SERVED}\r\n\r\n`, '\u0016\u0003\u0001');
    const since = gateway.records.length;
    await fc.assert(
      fc.asyncProperty(header, after, async (bytes, rest) => {
        await send(ports.proxied, Buffer.concat([bytes, Buffer.from(rest, 'latin1')]));
      }),
      { numRuns: RUNS },
    );
    await stillUp(gateway);
    assert.ok(refusals(gateway, since, { event: 'proxy-header-refused' }) > 0, 'no header was refused: the generator is too narrow');
  });

  test(`${RUNS} malformed TLS handshakes to a TLS listener (the sniff, then Node's TLS)`, { timeout: hangBound(300_000) }, async () => {
    const hello = helloMessage.chain((message) => mutated(records(message, 512)));
    const bytes = fc.oneof(
      hello,
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([Buffer.from([0x16]), b])),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => Buffer.from(b)),
    );
    const since = gateway.records.length;
    await fc.assert(fc.asyncProperty(bytes, async (b) => send(ports.tls, b)), { numRuns: RUNS });
    await stillUp(gateway);
    assert.ok(refusals(gateway, since, { event: 'tls-handshake-failed' }) > 0, 'no handshake failed: the generator is too narrow');
  });

  test(`${CERT_RUNS} client certificates with generated subjects to a clientAuth listener`, { timeout: hangBound(300_000) }, async () => {
    const type = fc.oneof(fc.constantFrom('2.5.4.3', '2.5.4.10', '2.5.4.11', '2.5.4.6', '0.9.2342.19200300.100.1.25', '1.2.840.113549.1.9.1', '2.5.4.5', '2.5.4.45'), fc.array(fc.nat(40), { minLength: 2, maxLength: 6 }).map((arcs) => `1.${arcs.join('.')}`));
    const value = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constantFrom('', ' ', '__proto__', 'constructor', 'a\nb', 'a, CN=agent', '"', '\\'), fc.nat(4000).map((n) => 'x'.repeat(n)));
    const subject = fc.array(fc.record({ type, value }), { maxLength: 8 });
    const since = gateway.records.length;
    await fc.assert(
      fc.asyncProperty(subject, async (attributes) => {
        const cert = certificateWith(attributes, key, publicKey);
        if (cert === undefined) return;
        let socket: TLSSocket;
        try {
          socket = tlsConnect({ host: '127.0.0.1', port: ports.tls, ca: pki.caPem, servername: 'localhost', cert, key: keyPem });
        } catch {
          // OpenSSL on this side refuses to load it: such a certificate cannot be sent.
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => socket.destroy(), 2000);
          socket.on('error', () => undefined).on('close', () => {
            clearTimeout(timer);
            resolve();
          });
          socket.resume();
        });
      }),
      { numRuns: CERT_RUNS },
    );
    await stillUp(gateway);
    assert.ok(refusals(gateway, since, { event: 'auth-failed', reason: 'client-certificate-untrusted' }) > 0, 'no certificate reached the check');
  });

  test(`${RUNS} ClientHellos inside tunnels, mutated and cut into records of any size`, { timeout: hangBound(300_000) }, async () => {
    const fragments = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 });
    const flight = fc.tuple(helloMessage.chain((m) => fc.oneof(fc.constant(m), mutated(m))), fragments, fc.option(fc.constantFrom(20, 21, 23, 24, 25, 0), { nil: undefined })).map(([message, sizes, trailing]) => {
      const parts: Buffer[] = [];
      for (let at = 0, i = 0; at < message.length; i++) {
        const size = sizes[i % sizes.length] ?? 1;
        parts.push(records(message.subarray(at, at + size), size));
        at += size;
      }
      if (trailing !== undefined) parts.push(Buffer.from([trailing, 3, 3, 0, 1, 1]));
      return Buffer.concat(parts);
    });
    const since = gateway.records.length;
    await fc.assert(fc.asyncProperty(flight, async (bytes) => sendThroughTunnel(ports.plain, 'fuzz.ods.opinsights.azure.com', bytes)), { numRuns: RUNS });
    await stillUp(gateway);
    assert.ok(refusals(gateway, since, { event: 'tls-parse-error' }) > 0, 'no ClientHello was refused as malformed');
    assert.ok(refusals(gateway, since, { event: 'request-denied', reason: 'sni-mismatch' }) > 0, 'no ClientHello got as far as its server name');
  });

  test(`${RUNS} followed handshakes: generated ServerHellos from the target, generated Certificate messages from the client`, { timeout: hangBound(300_000) }, async () => {
    const host = 'followed.oms.opinsights.azure.com';
    const serverFlight = fc.oneof(
      fc.constantFrom(TLS12, TLS13, 0x0301, 0x7f1c).chain((v) => fc.oneof(fc.constant(records(serverHelloMessage(v), 16_384)), mutated(records(serverHelloMessage(v), 16_384)))),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    );
    const der = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
      fc.constant(Buffer.from(new forge.util.ByteStringBuffer(forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(pki.certPem)))).getBytes(), 'binary')).chain((d) => mutated(d)),
    );
    const clientFlight = fc.oneof(
      fc.array(der, { maxLength: 3 }).map((certs) => records(certificateMessage(certs), 16_384)),
      fc.array(der, { maxLength: 2 }).chain((certs) => mutated(records(certificateMessage(certs), 16_384))),
      fc.uint8Array({ maxLength: 100 }).map((b) => records(handshakeMessage(16, Buffer.from(b)), 16_384)),
    );
    const since = gateway.records.length;
    await fc.assert(
      fc.asyncProperty(serverFlight, clientFlight, async (server, client) => {
        scripted.script = server;
        const { socket } = await openTunnel(ports.plain, `${host}:443`);
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            socket.destroy();
            resolve();
          };
          const timer = setTimeout(done, 500);
          socket.on('error', done).on('close', done);
          socket.once('data', () => socket.write(client));
          socket.resume();
          socket.write(records(clientHelloMessage({ serverName: host }), 16_384));
        });
      }),
      { numRuns: RUNS },
    );
    await stillUp(gateway);
    assert.ok(refusals(gateway, since, { event: 'tls-parse-error', side: 'server' }) > 0, 'no ServerHello was refused');
    assert.ok(refusals(gateway, since, { event: 'tls-parse-error', side: 'client' }) + refusals(gateway, since, { event: 'request-denied', reason: 'client-certificate-refused' }) > 0, 'no client Certificate was judged');
  });
});

describe('generated Proxy-Authorization headers against a basic-auth gateway', () => {
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startTlsOrigin();
    gateway = await startGateway({
      configYaml: `${await basicAuthYaml([{ name: 'agent', password: 'correct horse' }])}workers: 1\n`,
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
  });

  test(`${Math.round(RUNS / 3)} generated credentials: each answered or closed, the gateway serves on`, { timeout: hangBound(300_000) }, async () => {
    const token = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('base64')),
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ maxLength: 20 })).map(([u, p]) => Buffer.from(`${u}:${p}`, 'utf8').toString('base64')),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }),
      fc.constantFrom('', '=', '====', 'YWdlbnQ', 'YWdlbnQ6', 'Og==', '//79/w==', 'YWdlbnQ6Y29ycmVjdCBob3JzZQ== extra'),
    );
    const value = fc.tuple(fc.constantFrom('Basic ', 'basic ', 'BASIC  ', 'Basic', 'Bearer ', 'Digest ', ''), token).map(([scheme, t]) => `${scheme}${t}`);
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const line = `CONNECT ${SERVED} HTTP/1.1\r\nHost: ${SERVED}\r\nProxy-Authorization: ${v}\r\n\r\n`;
        // Another source address, so its failures throttle that address and not the check below.
        await new Promise<void>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port: gateway.port, localAddress: '127.0.0.2' });
          const done = (): void => {
            clearTimeout(timer);
            socket.destroy();
            resolve();
          };
          const timer = setTimeout(done, 1000);
          socket.on('error', done).on('close', done).on('data', done).on('connect', () => socket.write(Buffer.from(line, 'latin1')));
        });
      }),
      { numRuns: Math.round(RUNS / 3) },
    );
    const state = await Promise.race([gateway.exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('running'), 100))]);
    assert.equal(state, 'running');
    noFaults(gateway);
    await openTunnel(gateway.port, SERVED, { headers: { 'Proxy-Authorization': basicCredentials('agent', 'correct horse') } }).then(({ socket }) => socket.destroy());
    await gateway.waitForRecord(recordMatching({ event: 'request-allowed', user: 'agent' }), 5000);
  });
});
