// Issue 16 item 1: client certificates to a clientAuth listener in every shape a client can choose (an empty
// subject, no CN, attribute types outside the alias table, a multi-valued RDN, a subject of kilobytes),
// trusted and untrusted, from Node's tls and from openssl s_client. Each is judged like any certificate: the
// connection is refused and audited, or admitted with its subject as the user. The gateway stays up and the
// tunnels already open keep working, in one process and with two workers.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { recordMatching, startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { openTunnel, parseHead } from '../fixtures/raw-client.js';
import { connectTls, getHello } from '../fixtures/tls-client.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

const execFileAsync = promisify(execFile);
const DOMAIN = 'ods.opinsights.azure.com';
const EMPTY = '(empty subject)';

interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

const LONG_SUBJECT = Array.from({ length: 40 }, (_, i) => `/OU=${'u'.repeat(60)}${i}`).join('');

/** Subjects as `openssl req -subj` takes them (with -multivalue-rdn), and the subject text the audit shows. */
const SHAPES: readonly { name: string; subj: string; text: string }[] = [
  { name: 'an empty subject', subj: '/', text: EMPTY },
  { name: 'no CN', subj: '/O=Contoso', text: 'O=Contoso' },
  { name: 'a multi-valued RDN', subj: '/CN=a+OU=b/O=c', text: 'CN=a + OU=b, O=c' },
  { name: 'attribute types outside the alias table', subj: '/businessCategory=x/jurisdictionC=DE/DC=x/UID=u/CN=a\\,b=c', text: 'businessCategory=x, jurisdictionC=DE, DC=x, UID=u, CN=a\\,b=c' },
  { name: 'a subject of 2.6 kB', subj: LONG_SUBJECT, text: `OU=${'u'.repeat(60)}0, OU=` },
];

async function openssl(args: readonly string[]): Promise<void> {
  await execFileAsync('openssl', args);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed certificate with subject `subj`: trusted by no one. */
async function selfSigned(dir: string, name: string, subj: string): Promise<KeyPair> {
  const base = join(dir, name);
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', subj, '-multivalue-rdn', '-days', '2']);
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/** A certificate with subject `subj` signed by `ca` for client authentication. */
async function signed(dir: string, ca: KeyPair, name: string, subj: string): Promise<KeyPair> {
  const base = join(dir, name);
  await writeFile(`${base}.ext`, 'extendedKeyUsage=clientAuth\n');
  await openssl(['req', '-new', ...EC_KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subj, '-multivalue-rdn']);
  await openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/** Port of listener `index`, from the service-started record. */
function listenerPort(gateway: Gateway, index: number): number {
  const started = gateway.records.find((record) => record.event === 'service-started');
  const port = (started?.listeners as { port: number }[] | undefined)?.[index]?.port;
  assert.ok(port !== undefined, 'no such listener');
  return port;
}

/** A TLS connection to the proxy presenting `client`; resolves once the gateway has closed it. */
async function presentAndWaitForClose(port: number, pki: TestPki, client: KeyPair): Promise<void> {
  const [cert, key] = await Promise.all([readFile(client.cert, 'utf8'), readFile(client.key, 'utf8')]);
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost', cert, key });
  socket.on('error', () => undefined);
  socket.resume();
  await once(socket, 'close');
}

/** A TLS connection to the proxy presenting `client`, then CONNECT; resolves with the answer's status. */
async function connectWithCertificate(port: number, pki: TestPki, client: KeyPair, target: string): Promise<number> {
  const [cert, key] = await Promise.all([readFile(client.cert, 'utf8'), readFile(client.key, 'utf8')]);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.caPem, servername: 'localhost', cert, key });
    s.once('secureConnect', () => resolve(s)).once('error', reject);
  });
  try {
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    let received = Buffer.alloc(0);
    while (received.indexOf('\r\n\r\n') === -1) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      received = Buffer.concat([received, chunk]);
    }
    return parseHead(received).status;
  } finally {
    socket.destroy();
  }
}

/** A tunnel with the agent's TLS session inside, answering one request: the work that must survive. */
async function openSession(port: number, host: string, pki: TestPki): Promise<TLSSocket> {
  const { socket } = await openTunnel(port, `${host}:443`);
  const session = await connectTls(socket, host, pki.caPem);
  await getHello(session, host);
  return session;
}

function authFailed(gateway: Gateway, since: number, reason: string): Promise<AuditRecord> {
  return gateway.waitForRecord(recordMatching({ event: 'auth-failed', reason }), 10_000, since);
}

describe('one process: every certificate shape is judged, nothing else is touched', () => {
  let dir: string;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  let ca: KeyPair;
  const untrusted = new Map<string, KeyPair>();
  const trusted = new Map<string, KeyPair>();
  before(async () => {
    requireCommand('openssl');
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-cert-shapes-'));
    [pki, origin] = await Promise.all([testPki(), startTlsOrigin()]);
    ca = await selfSigned(dir, 'client-ca', '/CN=client CA');
    for (const [index, { name, subj }] of SHAPES.entries()) {
      untrusted.set(name, await selfSigned(dir, `self-${index}`, subj));
      trusted.set(name, await signed(dir, ca, `signed-${index}`, subj));
    }
    const files = `cert: ${pki.certFile}, key: ${pki.keyFile}`;
    gateway = await startGateway({
      listen: [],
      configYaml: [
        'workers: 1',
        'listen:',
        `  - address: 127.0.0.1:0\n    tls: {${files}, clientAuth: {ca: ${ca.cert}, subjects: ["CN=agent-1, O=Contoso"]}}`,
        `  - address: 127.0.0.1:0\n    tls: {${files}, clientAuth: {ca: ${ca.cert}}}`,
        '',
      ].join('\n'),
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const { name, text } of SHAPES) {
    test(`untrusted, ${name}: refused as client-certificate-untrusted; an open tunnel carries on`, async () => {
      const open = await openSession(gateway.port, `before-untrusted.${DOMAIN}`, pki);
      const since = gateway.records.length;
      await presentAndWaitForClose(gateway.port, pki, untrusted.get(name) ?? assert.fail());
      const record = await authFailed(gateway, since, 'client-certificate-untrusted');
      assert.ok(String(record.clientCertificate).startsWith(text), `logged subject ${String(record.clientCertificate)}`);
      assert.ok(String(record.clientCertificate).length <= 515, 'the logged subject is bounded');
      await getHello(open, `before-untrusted.${DOMAIN}`);
      open.destroy();
    });

    test(`trusted, ${name}: not on the list, refused as client-certificate-not-allowed`, async () => {
      const since = gateway.records.length;
      await presentAndWaitForClose(gateway.port, pki, trusted.get(name) ?? assert.fail());
      const record = await authFailed(gateway, since, 'client-certificate-not-allowed');
      assert.ok(String(record.clientCertificate).startsWith(text));
    });

    test(`trusted, ${name}, where every certificate of the CA is admitted: its subject is the user`, async () => {
      const since = gateway.records.length;
      const target = `shape.${DOMAIN}:443`;
      assert.equal(await connectWithCertificate(listenerPort(gateway, 1), pki, trusted.get(name) ?? assert.fail(), target), 200);
      const record = await gateway.waitForRecord(recordMatching({ event: 'request-allowed', target }), 10_000, since);
      assert.ok(String(record.user).startsWith(text), `user ${String(record.user)}`);
    });
  }

  test('openssl s_client presenting a self-signed certificate with an empty subject is refused; the gateway serves on', async () => {
    const since = gateway.records.length;
    const client = untrusted.get('an empty subject') ?? assert.fail();
    const target = `sclient.${DOMAIN}:443`;
    await runCommand('sh', ['-c', `printf 'CONNECT ${target} HTTP/1.1\\r\\nHost: ${target}\\r\\n\\r\\n' | openssl s_client -quiet -connect 127.0.0.1:${gateway.port} -servername localhost -cert ${client.cert} -key ${client.key}`]);
    const record = await authFailed(gateway, since, 'client-certificate-untrusted');
    assert.equal(record.clientCertificate, EMPTY);
    assert.equal(gateway.records.some((r) => r.event === 'request-allowed' && r.target === target), false);
    (await openSession(gateway.port, `after-sclient.${DOMAIN}`, pki)).destroy();
  });
});

describe('two workers: a burst of empty-subject certificates cuts no tunnel and kills no worker', () => {
  let dir: string;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  let client: KeyPair;
  before(async () => {
    requireCommand('openssl');
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-cert-shapes-workers-'));
    [pki, origin] = await Promise.all([testPki(), startTlsOrigin()]);
    const ca = await selfSigned(dir, 'client-ca', '/CN=client CA');
    client = await selfSigned(dir, 'empty', '/');
    gateway = await startGateway({
      listen: [],
      configYaml: `workers: 2\nlisten:\n  - address: 127.0.0.1:0\n    tls: {cert: ${pki.certFile}, key: ${pki.keyFile}, clientAuth: {ca: ${ca.cert}}}\n`,
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('8 handshakes with an empty subject: 8 refusals, 6 open tunnels still answer, new tunnels are served', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, (_, i) => openSession(gateway.port, `held-${i}.${DOMAIN}`, pki)));
    const since = gateway.records.length;
    for (let i = 0; i < 8; i++) await presentAndWaitForClose(gateway.port, pki, client);
    const refused = (): number => gateway.records.slice(since).filter((r) => r.event === 'auth-failed' && r.reason === 'client-certificate-untrusted').length;
    for (let wait = 0; wait < 100 && refused() < 8; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(refused(), 8);
    assert.deepEqual(gateway.records.slice(since).filter((r) => r.event === 'worker-exited'), []);
    await Promise.all(sessions.map((session, i) => getHello(session, `held-${i}.${DOMAIN}`)));
    for (const session of sessions) session.destroy();
    await Promise.all(Array.from({ length: 8 }, async (_, i) => (await openSession(gateway.port, `after-${i}.${DOMAIN}`, pki)).destroy()));
  });
});
