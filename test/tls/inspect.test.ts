// The tunnel inspection on real sockets: a real TLS client on the far end of the "client" connection, a real
// HTTPS server behind the "upstream" connection, and the gateway's own relay once the inspection lets the
// tunnel through, so a test also proves that no byte the inspection read was lost.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { relay, tunnelTimers } from '../../src/proxy/relay.js';
import { TLS_VERSIONS } from '../../src/tls/clienthello.js';
import { inspectTunnel, type Inspection, type InspectionOptions } from '../../src/tls/inspect.js';
import { compileSubjects } from '../../src/tls/subjects.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { readText, requestOver } from '../fixtures/tls-client.js';
import { agentCertificate, AGENT_WORKSPACE, captureHello, nodeClient, startMutualTlsOrigin, type ClientCertificate, type MutualTlsOrigin } from './capture.js';

const HOST = 'ws1.ods.opinsights.azure.com';

const OPTIONS: InspectionOptions = {
  minVersion: TLS_VERSIONS['TLSv1.2'],
  missingSni: 'allow',
  timeoutMs: 5000,
  maxHandshakeBytes: 65_536,
  maxHandshakeRecords: 1024,
  allowedClientCertificates: [],
  hiddenClientCertificates: 'refuse',
};

interface Tunnel {
  /** The gateway's end of the client connection, paused as the CONNECT handler leaves it. */
  readonly near: Socket;
  /** The agent's end. */
  readonly far: Socket;
  readonly upstream: Socket;
}

/** A loopback client connection and an upstream connection to `originPort`, as the CONNECT handler holds them. */
async function tunnelTo(originPort: number): Promise<Tunnel> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const far = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const [near] = await accepted;
  server.close();
  near.pause();
  const upstream = connect({ port: originPort, host: '127.0.0.1', allowHalfOpen: true });
  await once(upstream, 'connect');
  for (const socket of [near, far, upstream]) socket.on('error', () => undefined);
  return { near, far, upstream };
}

/** A TLS client on the far end; its handshake result arrives with `secured`. */
function tlsClient(far: Socket, pki: TestPki, options: ConnectionOptions): { tls: TLSSocket; secured: Promise<boolean> } {
  const tls = tlsConnect({ socket: far, servername: HOST, ca: pki.caPem, ...options });
  const secured = new Promise<boolean>((resolve) => {
    tls.once('secureConnect', () => resolve(true));
    tls.once('error', () => resolve(false));
    tls.once('close', () => resolve(false));
  });
  return { tls, secured };
}

/** Relays after a successful inspection and fetches /hello through the tunnel. */
async function fetchThrough(t: Tunnel, inspection: Inspection, client: { tls: TLSSocket; secured: Promise<boolean> }): Promise<string> {
  assert.ok(inspection.ok, `inspection refused: ${inspection.ok ? '' : inspection.reason}`);
  relay(t.near, t.upstream, inspection.head, { keepAliveMs: 30_000, timers: tunnelTimers(), onClose: () => undefined });
  assert.ok(await client.secured, 'the TLS handshake through the tunnel failed');
  return readText(await requestOver(client.tls, { method: 'GET', path: '/hello', host: HOST }));
}

function destroy(t: Tunnel): void {
  for (const socket of [t.near, t.far, t.upstream]) socket.destroy();
}

describe('tunnel inspection', () => {
  let pki: TestPki;
  let tls13: MutualTlsOrigin;
  let tls12: MutualTlsOrigin;
  let agent: ClientCertificate;
  before(async () => {
    pki = await testPki();
    [tls13, tls12, agent] = await Promise.all([startMutualTlsOrigin('TLSv1.3'), startMutualTlsOrigin('TLSv1.2'), agentCertificate()]);
  });
  after(async () => {
    await Promise.all([tls13.close(), tls12.close()]);
  });

  test('a ClientHello naming the CONNECT host passes, and the relay delivers every byte read', async () => {
    const t = await tunnelTo(tls13.port);
    const client = tlsClient(t.far, pki, {});
    const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, OPTIONS);
    // The look lasts until the client's plaintext handshake ends: its first encrypted record comes back to be sent first.
    assert.deepEqual(inspection.ok && inspection.facts, { serverName: HOST, offeredVersion: 'TLSv1.3', negotiatedVersion: 'TLSv1.3' });
    assert.ok(inspection.ok && inspection.head.length > 0, 'the chunk that ended the look comes back to be sent first');
    assert.equal(await fetchThrough(t, inspection, client), 'no certificate');
    destroy(t);
  });

  for (const expected of [HOST.toUpperCase(), `${HOST}.`]) {
    test(`the server name is compared without case and trailing dot (CONNECT host ${expected})`, async () => {
      const t = await tunnelTo(tls13.port);
      tlsClient(t.far, pki, {});
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), expected, OPTIONS);
      assert.equal(inspection.ok, true);
      destroy(t);
    });
  }

  test('a ClientHello naming another host is refused and nothing reaches the target', async () => {
    const t = await tunnelTo(tls13.port);
    const client = tlsClient(t.far, pki, { servername: 'evil.example.com', rejectUnauthorized: false });
    const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, OPTIONS);
    assert.deepEqual(inspection, { ok: false, reason: 'sni-mismatch', facts: { serverName: 'evil.example.com', offeredVersion: 'TLSv1.3', side: 'client' } });
    assert.equal(t.upstream.bytesWritten, 0);
    destroy(t);
    assert.equal(await client.secured, false);
  });

  for (const missingSni of ['allow', 'refuse'] as const) {
    test(`a ClientHello without server name is ${missingSni === 'allow' ? 'let through' : 'refused'} with missingSni: ${missingSni}`, async () => {
      const t = await tunnelTo(tls13.port);
      const client = tlsClient(t.far, pki, { servername: '', checkServerIdentity: () => undefined });
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, { ...OPTIONS, missingSni });
      if (missingSni === 'allow') assert.equal(await fetchThrough(t, inspection, client), 'no certificate');
      else assert.deepEqual(inspection.ok ? undefined : inspection.reason, 'sni-missing');
      destroy(t);
    });
  }

  test('a client offering at most TLS 1.2 is refused when the minimum is TLS 1.3', async () => {
    const t = await tunnelTo(tls13.port);
    tlsClient(t.far, pki, { maxVersion: 'TLSv1.2' });
    const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, { ...OPTIONS, minVersion: TLS_VERSIONS['TLSv1.3'] });
    assert.equal(inspection.ok ? undefined : inspection.reason, 'version-too-low');
    assert.equal(inspection.facts.offeredVersion, 'TLSv1.2');
    destroy(t);
  });

  const notHellos: readonly { name: string; bytes: Buffer; reason: string }[] = [
    { name: 'plain HTTP', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), reason: 'not-tls' },
    { name: 'an alert record', bytes: Buffer.from([21, 3, 3, 0, 2, 2, 40]), reason: 'not-client-hello' },
    { name: 'a ServerHello from the client', bytes: Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0]), reason: 'not-client-hello' },
    { name: 'a truncated ClientHello body', bytes: Buffer.from([22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3]), reason: 'malformed-handshake' },
    { name: 'a ClientHello announcing 1 MiB', bytes: Buffer.from([22, 3, 1, 0, 4, 1, 0x10, 0, 0]), reason: 'handshake-too-large' },
  ];
  for (const { name, bytes, reason } of notHellos) {
    test(`${name} is refused as ${reason}`, async () => {
      const t = await tunnelTo(tls13.port);
      t.far.write(bytes);
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, OPTIONS);
      assert.equal(inspection.ok ? undefined : inspection.reason, reason);
      assert.equal(t.upstream.bytesWritten, 0);
      destroy(t);
    });
  }

  test('a silent client is refused when the timeout ends, not before', async () => {
    const t = await tunnelTo(tls13.port);
    const started = Date.now();
    const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, { ...OPTIONS, timeoutMs: 300 });
    assert.equal(inspection.ok ? undefined : inspection.reason, 'handshake-timeout');
    assert.ok(Date.now() - started >= 250, `gave up after ${Date.now() - started} ms`);
    destroy(t);
  });

  test('a client that leaves without a byte is not a refusal', async () => {
    const t = await tunnelTo(tls13.port);
    t.far.end();
    const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, OPTIONS);
    assert.equal(inspection.ok ? undefined : inspection.reason, 'closed-early');
    destroy(t);
  });

  test('a ClientHello sent one byte at a time, and a whole first flight already in the CONNECT head, both pass', async () => {
    const hello = await captureHello(nodeClient());
    const t = await tunnelTo(tls13.port);
    const inspecting = inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, OPTIONS);
    for (const byte of hello) {
      t.far.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // What a TLS 1.3 client sends next: the dummy ChangeCipherSpec, then encrypted records.
    const encrypted = Buffer.from([20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 2, 0xaa, 0xbb]);
    t.far.write(encrypted);
    const inspection = await inspecting;
    assert.ok(inspection.ok, inspection.ok ? '' : inspection.reason);
    assert.deepEqual(inspection.head, encrypted);
    assert.equal(t.upstream.bytesWritten, hello.length, 'the ClientHello went upstream once judged');
    destroy(t);

    const u = await tunnelTo(tls13.port);
    const fromHead = await inspectTunnel(u.near, u.upstream, Buffer.concat([hello, encrypted]), HOST, OPTIONS);
    assert.ok(fromHead.ok);
    assert.deepEqual(fromHead.head, Buffer.concat([hello, encrypted]));
    destroy(u);
  });

  test('application data in the segment that ends the handshake is not counted against maxHandshakeBytes', async () => {
    const hello = await captureHello(nodeClient());
    // An upload that starts at once: 7 full application-data records (112 KiB) right behind the handshake,
    // read as one segment, far beyond the 64 KiB the handshake may take.
    const record = Buffer.concat([Buffer.from([23, 3, 3, 0x40, 0x00]), Buffer.alloc(16_384, 0xab)]);
    const upload = Buffer.concat([Buffer.from([20, 3, 3, 0, 1, 1]), ...Array.from({ length: 7 }, () => record)]);
    const t = await tunnelTo(tls13.port);
    try {
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.concat([hello, upload]), HOST, OPTIONS);
      assert.ok(inspection.ok, inspection.ok ? '' : inspection.reason);
      assert.equal(inspection.head.length, hello.length + upload.length);
    } finally {
      destroy(t);
    }
  });

  describe('with allowedClientCertificates', () => {
    const listed = (...subjects: string[]): InspectionOptions => ({ ...OPTIONS, allowedClientCertificates: compileSubjects(subjects) });

    test('TLS 1.2: a listed certificate passes and the session carries on', async () => {
      const t = await tunnelTo(tls12.port);
      const client = tlsClient(t.far, pki, { cert: agent.certPem, key: agent.keyPem });
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, listed('CN=00000000-0000-0000-0000-000000000000', `CN=${AGENT_WORKSPACE}`));
      assert.ok(inspection.ok, inspection.ok ? '' : inspection.reason);
      assert.equal(inspection.facts.negotiatedVersion, 'TLSv1.2');
      assert.equal(inspection.facts.allowedBy, `CN=${AGENT_WORKSPACE}`);
      assert.match(inspection.facts.clientCertificate ?? '', new RegExp(`^CN=${AGENT_WORKSPACE}, CN=`));
      assert.match(await fetchThrough(t, inspection, client), /OU=Linux Monitoring Agent/);
      destroy(t);
    });

    test('TLS 1.2: an unlisted certificate is refused before the target sees it', async () => {
      const before = tls12.secure();
      const t = await tunnelTo(tls12.port);
      const client = tlsClient(t.far, pki, { cert: agent.certPem, key: agent.keyPem });
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, listed('CN=00000000-0000-0000-0000-000000000000'));
      assert.equal(inspection.ok ? undefined : inspection.reason, 'client-certificate-refused');
      assert.match(inspection.facts.clientCertificate ?? '', /OU=Linux Monitoring Agent, O=Microsoft$/);
      destroy(t);
      assert.equal(await client.secured, false);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(tls12.secure(), before, 'the target completed a handshake with a refused certificate');
    });

    test('TLS 1.2: a client without a certificate passes (the list restricts the certificates presented)', async () => {
      const t = await tunnelTo(tls12.port);
      const client = tlsClient(t.far, pki, {});
      const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, listed(`CN=${AGENT_WORKSPACE}`));
      assert.equal(inspection.facts.clientCertificate, 'none');
      assert.equal(await fetchThrough(t, inspection, client), 'no certificate');
      destroy(t);
    });

    for (const hidden of ['allow', 'refuse'] as const) {
      test(`TLS 1.3: the certificate is encrypted, and hiddenClientCertificates: ${hidden} decides`, async () => {
        const t = await tunnelTo(tls13.port);
        const client = tlsClient(t.far, pki, { cert: agent.certPem, key: agent.keyPem });
        const inspection = await inspectTunnel(t.near, t.upstream, Buffer.alloc(0), HOST, { ...listed(`CN=${AGENT_WORKSPACE}`), hiddenClientCertificates: hidden });
        assert.equal(inspection.facts.negotiatedVersion, 'TLSv1.3');
        assert.equal(inspection.facts.clientCertificate, 'hidden');
        if (hidden === 'allow') assert.match(await fetchThrough(t, inspection, client), /Linux Monitoring Agent/);
        else assert.equal(inspection.ok ? undefined : inspection.reason, 'client-certificate-hidden');
        destroy(t);
      });
    }
  });
});
