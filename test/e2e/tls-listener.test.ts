// TLS proxy listeners on the real gateway with real clients: `cert generate` then `start` serves
// `curl -x https://... --proxy-cacert ca.crt` and `curl -x http://...` on one port, undici's ProxyAgent with
// an https proxy URL, openssl s_client and Node's tls; TLS-only listeners and refused clear-text credentials;
// client certificates to the proxy; certificate reload with tunnels open; and the start-up errors.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import forge from 'node-forge';
import { ProxyAgent, request as undiciRequest } from 'undici';
import { runCli } from '../fixtures/cli.js';
import { recordMatching, startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { v1Header } from '../fixtures/proxy-headers.js';
import { connectStatus, parseHead } from '../fixtures/raw-client.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';
import { requireCommand, runCommand, type RunResult } from '../fixtures/tools.js';
import { basicAuthYaml } from '../fixtures/users.js';
import { hangBound } from '../fixtures/patience.js';

const execFileAsync = promisify(execFile);
const DOMAIN = 'ods.opinsights.azure.com';
const USER = 'agent';
const PASSWORD = 'Tr0ub4dor&3';

interface GatewayCerts {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** `oms-gateway cert generate` for the loopback names, as an operator would run it. */
async function generate(dir: string, extra: readonly string[] = []): Promise<GatewayCerts> {
  const result = await runCli(['cert', 'generate', '--out', dir, '--host', 'localhost', '--host', '127.0.0.1', ...extra]);
  assert.equal(result.code, 0, result.stderr);
  return { dir, ca: join(dir, 'ca.crt'), cert: join(dir, 'gateway.crt'), key: join(dir, 'gateway.key') };
}

/** A client certificate (clientAuth) signed by the CA of `certs` with openssl, as an enterprise CA would. */
async function clientCertificate(certs: GatewayCerts, name: string): Promise<{ cert: string; key: string }> {
  requireCommand('openssl');
  const base = join(certs.dir, name);
  await writeFile(`${base}.ext`, 'extendedKeyUsage=clientAuth\n');
  await execFileAsync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}/O=Contoso`]);
  await execFileAsync('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', certs.ca, '-CAkey', join(certs.dir, 'ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
  return { cert: `${base}.crt`, key: `${base}.key` };
}

function tlsListener(settings: string): string {
  return `  - address: 127.0.0.1:0\n    tls: ${settings}\n`;
}

/** Port of listener `index`, from the service-started record. */
function listenerPort(gateway: Gateway, index: number): number {
  const started = gateway.records.find((record) => record.event === 'service-started');
  const listeners = started?.listeners as { port: number }[] | undefined;
  const port = listeners?.[index]?.port;
  assert.ok(port !== undefined, 'no such listener');
  return port;
}

function curl(args: readonly string[], host: string): Promise<RunResult> {
  requireCommand('curl');
  return runCommand('curl', ['-sS', '--max-time', '15', ...args, `https://${host}/hello`]);
}

function waitFor(gateway: Gateway, since: number, fields: Readonly<Record<string, unknown>>): Promise<AuditRecord> {
  return gateway.waitForRecord(recordMatching(fields), 10_000, since);
}

/** A TLS connection to the proxy itself. */
function connectProxy(port: number, ca: string, options: { cert?: string; key?: string } = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends CONNECT over an open connection and resolves with the answer's head; the socket is left paused. */
async function connectOver(socket: TLSSocket, target: string): Promise<ReturnType<typeof parseHead>> {
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let received = Buffer.alloc(0);
  while (received.indexOf('\r\n\r\n') === -1) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    received = Buffer.concat([received, chunk]);
  }
  socket.pause();
  const head = parseHead(received);
  if (head.rest.length > 0) socket.unshift(head.rest);
  return head;
}

describe('cert generate, then start with a TLS listener using the default certs/ files', () => {
  let work: string;
  let certs: GatewayCerts;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-work-'));
    [certs, pki, origin] = await Promise.all([generate(join(work, 'certs')), testPki(), startTlsOrigin()]);
    gateway = await startGateway({
      cwd: work,
      listen: [],
      // The second listener sits behind a load balancer: PROXY protocol first, then TLS.
      configYaml: `workers: 1\nlisten:\n${tlsListener('{}')}${tlsListener('true')}    proxyProtocol: {trusted: [127.0.0.1]}\n`,
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await rm(work, { recursive: true, force: true });
  });

  test('PROXY protocol comes before TLS: the client the header names is the one logged for the TLS client', async () => {
    const raw = netConnect({ host: '127.0.0.1', port: listenerPort(gateway, 1) });
    await once(raw, 'connect');
    raw.write(v1Header('203.0.113.7', 40_000));
    const proxy = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ socket: raw, ca: readFileSync(certs.ca, 'utf8'), servername: 'localhost' });
      socket.once('secureConnect', () => resolve(socket)).once('error', reject);
    });
    const since = gateway.records.length;
    assert.equal((await connectOver(proxy, `behind-lb.${DOMAIN}:443`)).status, 200);
    const record = await waitFor(gateway, since, { event: 'request-allowed', target: `behind-lb.${DOMAIN}:443` });
    assert.equal(record.client, '203.0.113.7');
    assert.equal(record.clientPort, 40_000);
    proxy.destroy();
  });

  test('the expiry of the served certificate is a metric', async () => {
    assert.ok(gateway.metricsBaseUrl !== undefined);
    const text = await (await fetch(`${gateway.metricsBaseUrl}/metrics`)).text();
    const notAfter = Date.parse(new X509Certificate(readFileSync(certs.cert)).validTo) / 1000;
    const line = text.split('\n').find((l) => l.startsWith('oms_gateway_certificate_expiry_timestamp_seconds{') && l.includes(`proxy:${certs.cert}`));
    assert.ok(line, 'no expiry series for the listener certificate');
    assert.equal(Number(line.split(' ').at(-1)), notAfter);
  });

  test('the key files are mode 0600 and the certificates 0644', async () => {
    const { stdout } = await execFileAsync('stat', ['-c', '%a %n', certs.ca, join(certs.dir, 'ca.key'), certs.cert, certs.key]);
    assert.deepEqual(stdout.trim().split('\n').map((line) => line.split(' ')[0]), ['644', '600', '644', '600']);
  });

  test('curl -x https:// --proxy-cacert ca.crt and curl -x http:// on the same port both get through', async () => {
    const since = gateway.records.length;
    const overTls = await curl(['-x', `https://127.0.0.1:${gateway.port}`, '--proxy-cacert', certs.ca, '--cacert', pki.caFile], `tls-curl.${DOMAIN}`);
    assert.equal(overTls.stdout, HELLO_BODY, overTls.stderr);
    const plain = await curl(['-x', `http://127.0.0.1:${gateway.port}`, '--cacert', pki.caFile], `plain-curl.${DOMAIN}`);
    assert.equal(plain.stdout, HELLO_BODY, plain.stderr);
    await waitFor(gateway, since, { event: 'request-allowed', target: `tls-curl.${DOMAIN}:443` });
    await waitFor(gateway, since, { event: 'request-allowed', target: `plain-curl.${DOMAIN}:443` });
  });

  test('curl refuses the proxy without --proxy-cacert, and the gateway logs why (event 1600)', async () => {
    const since = gateway.records.length;
    const result = await curl(['-x', `https://127.0.0.1:${gateway.port}`, '--cacert', pki.caFile], `untrusted.${DOMAIN}`);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /certificate/i);
    const record = await waitFor(gateway, since, { event: 'tls-handshake-failed', reason: 'certificate-rejected' });
    assert.equal(record.eventId, 1600);
  });

  test('a client offering only TLS 1.1 to the proxy is refused (protocol-version)', async () => {
    requireCommand('openssl');
    const since = gateway.records.length;
    const result = await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${gateway.port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0', '-CAfile', certs.ca]);
    assert.doesNotMatch(result.stdout, /-----BEGIN CERTIFICATE-----/);
    await waitFor(gateway, since, { event: 'tls-handshake-failed', reason: 'protocol-version' });
  });

  test('undici ProxyAgent with an https:// proxy URL', async () => {
    const agent = new ProxyAgent({ uri: `https://127.0.0.1:${gateway.port}`, proxyTls: { ca: await readFile(certs.ca, 'utf8') }, requestTls: { ca: pki.caPem } });
    try {
      const response = await undiciRequest(`https://undici-tls.${DOMAIN}/hello`, { dispatcher: agent });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), HELLO_BODY);
    } finally {
      await agent.close();
    }
  });

  test('openssl s_client speaks TLS to the proxy and gets 200 for its CONNECT', async () => {
    requireCommand('openssl');
    const target = `sclient.${DOMAIN}:443`;
    const since = gateway.records.length;
    // After the 200 the tunnel carries plain text, which the inspection refuses: that closes s_client.
    const child = execFile('openssl', ['s_client', '-quiet', '-connect', `127.0.0.1:${gateway.port}`, '-servername', 'localhost', '-CAfile', certs.ca, '-verify_return_error']);
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stdin?.end(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\nnot tls\r\n`);
    await once(child, 'close');
    assert.match(stdout, /^HTTP\/1\.1 200 Connection established\r\n/);
    await waitFor(gateway, since, { event: 'tls-parse-error', target, reason: 'not-tls' });
  });

  test("Node's tls to the proxy, CONNECT, then the agent's own TLS inside the tunnel", async () => {
    const host = `node-tls.${DOMAIN}`;
    const proxy = await connectProxy(gateway.port, await readFile(certs.ca, 'utf8'));
    const head = await connectOver(proxy, `${host}:443`);
    assert.equal(head.status, 200);
    const inner = await connectTls(proxy, host, pki.caPem);
    assert.equal(await readText(await requestOver(inner, { method: 'GET', path: '/hello', host })), HELLO_BODY);
    proxy.destroy();
  });
});

describe('a TLS listener at its connection limit answers in the protocol the client speaks', () => {
  let certs: GatewayCerts;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-limits-'));
    [certs, pki, origin] = await Promise.all([generate(dir), testPki(), startTlsOrigin()]);
    gateway = await startGateway({
      listen: [],
      // A head timeout far beyond the refusal's own bound, so that the bound is what closes a stalled one.
      configYaml: `workers: 1\nlimits:\n  maxConnectionsPerClient: 1\ntimeouts:\n  requestHeadSeconds: 300\nlisten:\n${tlsListener(`{cert: ${certs.cert}, key: ${certs.key}}`)}`,
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await rm(certs.dir, { recursive: true, force: true });
  });

  test('with its one connection held, a TLS client reads 429 inside TLS and a plain client reads it in clear', async () => {
    const held = await connectProxy(gateway.port, await readFile(certs.ca, 'utf8'));
    try {
      const since = gateway.records.length;
      const overTls = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', '-x', `https://127.0.0.1:${gateway.port}`, '--proxy-cacert', certs.ca, '--cacert', pki.caFile, `https://over-limit-tls.${DOMAIN}/hello`]);
      // Before, the 429 went out in clear to a client mid-handshake: curl saw "wrong version number", no status.
      assert.equal(overTls.stdout, '429', overTls.stderr);
      assert.doesNotMatch(overTls.stderr, /wrong version number/);
      const plain = await runCommand('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', '-x', `http://127.0.0.1:${gateway.port}`, '--cacert', pki.caFile, `https://over-limit-plain.${DOMAIN}/hello`]);
      assert.equal(plain.stdout, '429', plain.stderr);
      // Both refusals on record (the log is written asynchronously): counted once each as they arrive.
      let refused = 0;
      await gateway.waitForRecord((record) => record.event === 'limit-refused' && ++refused === 2, hangBound(10_000), since);
      const after = gateway.records.slice(since);
      assert.equal(after.filter((r) => r.event === 'limit-refused' && r.reason === 'client-connection-limit').length, 2, 'one record per refused connection');
      assert.equal(after.filter((r) => r.event === 'tls-handshake-failed').length, 0);
      assert.equal(after.filter((r) => r.event === 'request-allowed').length, 0, 'a refused connection was served');
    } finally {
      held.destroy();
    }
  });

  test('a refused connection that stalls in its TLS hello is closed by the refusal\'s own bound, not the head timeout', async () => {
    const held = await connectProxy(gateway.port, await readFile(certs.ca, 'utf8'));
    try {
      const stalled = netConnect({ host: '127.0.0.1', port: gateway.port });
      await once(stalled, 'connect');
      // The start of a TLS record announcing 80 bytes of handshake, and nothing after it.
      stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50]));
      stalled.on('error', () => undefined);
      stalled.resume();
      // Before the bound, it stayed until requestHeadSeconds (300 s here), uncounted by any limit.
      const closed = await Promise.race([once(stalled, 'close').then(() => true), sleep(hangBound(15_000)).then(() => false)]);
      stalled.destroy();
      assert.ok(closed, 'a refused, stalled connection was still open');
    } finally {
      held.destroy();
    }
  });
});

describe('TLS-only listeners and credentials refused in clear', () => {
  let certs: GatewayCerts;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-auth-'));
    [certs, pki, origin] = await Promise.all([generate(dir), testPki(), startTlsOrigin()]);
    const files = `cert: ${certs.cert}, key: ${certs.key}`;
    const users = await basicAuthYaml([{ name: USER, password: PASSWORD }]);
    gateway = await startGateway({
      listen: [],
      configYaml: `${users}workers: 1\nlisten:\n${tlsListener(`{${files}, plainBasicAuth: refuse}`)}${tlsListener(`{${files}, requireTls: true}`)}`,
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await rm(certs.dir, { recursive: true, force: true });
  });

  test('plainBasicAuth: refuse answers 403 to credentials sent in clear, and takes them over TLS', async () => {
    const since = gateway.records.length;
    const plain = await runCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', '-x', `http://${USER}:${PASSWORD}@127.0.0.1:${gateway.port}`, '--cacert', pki.caFile, `https://clear.${DOMAIN}/hello`]);
    assert.equal(plain.stdout, '403');
    const record = await waitFor(gateway, since, { event: 'auth-failed', reason: 'plain-credentials' });
    assert.equal(record.status, 403);
    assert.ok(!gateway.stdout.includes(PASSWORD), 'the password was logged');
    const overTls = await curl(['-x', `https://${USER}:${PASSWORD}@127.0.0.1:${gateway.port}`, '--proxy-cacert', certs.ca, '--cacert', pki.caFile], `tls-auth.${DOMAIN}`);
    assert.equal(overTls.stdout, HELLO_BODY, overTls.stderr);
    await waitFor(gateway, since, { event: 'request-allowed', user: USER, target: `tls-auth.${DOMAIN}:443` });
  });

  test('a plain client without credentials is asked for them (407) on that listener', async () => {
    const plain = await runCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', '-x', `http://127.0.0.1:${gateway.port}`, `https://nocreds.${DOMAIN}/hello`]);
    assert.equal(plain.stdout, '407');
  });

  test('requireTls: a plain-HTTP client gets 400 naming the fix; a TLS client is served', async () => {
    const port = listenerPort(gateway, 1);
    const since = gateway.records.length;
    const plain = await runCommand('curl', ['-s', '-w', '\n%{http_connect}', '--max-time', '15', '-x', `http://${USER}:${PASSWORD}@127.0.0.1:${port}`, `https://plain-only.${DOMAIN}/hello`]);
    assert.match(plain.stdout, /400$/);
    const record = await waitFor(gateway, since, { event: 'bad-request', reason: 'tls-required' });
    assert.equal(record.status, 400);
    const overTls = await curl(['-x', `https://${USER}:${PASSWORD}@127.0.0.1:${port}`, '--proxy-cacert', certs.ca, '--cacert', pki.caFile], `tls-only.${DOMAIN}`);
    assert.equal(overTls.stdout, HELLO_BODY, overTls.stderr);
  });
});

describe('client certificates to the proxy (clientAuth)', () => {
  let certs: GatewayCerts;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  let listed: { cert: string; key: string };
  let unlisted: { cert: string; key: string };
  let untrusted: { cert: string; key: string };
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-clientauth-'));
    [certs, pki, origin] = await Promise.all([generate(dir), testPki(), startTlsOrigin()]);
    const stranger = await generate(join(dir, 'stranger'));
    [listed, unlisted, untrusted] = await Promise.all([clientCertificate(certs, 'agent-1'), clientCertificate(certs, 'agent-2'), clientCertificate(stranger, 'agent-1')]);
    const files = `cert: ${certs.cert}, key: ${certs.key}`;
    const users = await basicAuthYaml([{ name: USER, password: PASSWORD }]);
    gateway = await startGateway({
      listen: [],
      configYaml: [
        `${users}workers: 1`,
        'listen:',
        tlsListener(`{${files}, clientAuth: {ca: ${certs.ca}, subjects: ["CN=agent-1, O=Contoso"]}}`).trimEnd(),
        tlsListener(`{${files}, requireTls: true, clientAuth: {ca: ${certs.ca}, mode: required}}`),
      ].join('\n'),
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await rm(certs.dir, { recursive: true, force: true });
  });

  const viaProxy = (port: number, client: { cert: string; key: string } | undefined, credentials = ''): string[] => [
    '-x', `https://${credentials}127.0.0.1:${port}`, '--proxy-cacert', certs.ca, '--cacert', pki.caFile,
    ...(client === undefined ? [] : ['--proxy-cert', client.cert, '--proxy-key', client.key]),
  ];

  test('alternative: a listed certificate stands in for Basic credentials; the user is its subject', async () => {
    const since = gateway.records.length;
    const result = await curl(viaProxy(gateway.port, listed), `cert-user.${DOMAIN}`);
    assert.equal(result.stdout, HELLO_BODY, result.stderr);
    const record = await waitFor(gateway, since, { event: 'request-allowed', target: `cert-user.${DOMAIN}:443` });
    assert.equal(record.user, 'CN=agent-1, O=Contoso');
  });

  test('alternative: without a certificate, Basic credentials are still asked for (407)', async () => {
    const result = await runCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', ...viaProxy(gateway.port, undefined), `https://no-cert.${DOMAIN}/hello`]);
    assert.equal(result.stdout, '407');
  });

  for (const [name, client, reason] of [
    ['a certificate of the CA whose subject is not listed', () => unlisted, 'client-certificate-not-allowed'],
    ['a certificate from another CA', () => untrusted, 'client-certificate-untrusted'],
  ] as const) {
    test(`alternative: ${name} closes the connection (${reason})`, async () => {
      const since = gateway.records.length;
      const result = await curl(viaProxy(gateway.port, client(), `${USER}:${PASSWORD}@`), `refused-cert.${DOMAIN}`);
      assert.notEqual(result.code, 0);
      const record = await waitFor(gateway, since, { event: 'auth-failed', reason });
      assert.match(String(record.clientCertificate), /^CN=agent-[12], O=Contoso$/);
    });
  }

  test('required: no certificate is refused even with good credentials; a certificate adds to Basic', async () => {
    const port = listenerPort(gateway, 1);
    const since = gateway.records.length;
    const without = await curl(viaProxy(port, undefined, `${USER}:${PASSWORD}@`), `required.${DOMAIN}`);
    assert.notEqual(without.code, 0);
    await waitFor(gateway, since, { event: 'auth-failed', reason: 'client-certificate-missing' });
    const certOnly = await runCommand('curl', ['-s', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', ...viaProxy(port, unlisted), `https://required.${DOMAIN}/hello`]);
    assert.equal(certOnly.stdout, '407');
    const both = await curl(viaProxy(port, unlisted, `${USER}:${PASSWORD}@`), `required-both.${DOMAIN}`);
    assert.equal(both.stdout, HELLO_BODY, both.stderr);
    const record = await waitFor(gateway, since, { event: 'request-allowed', target: `required-both.${DOMAIN}:443` });
    assert.equal(record.user, USER);
  });
});

describe('certificate reload while tunnels are open', () => {
  let certs: GatewayCerts;
  let pki: TestPki;
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-reload-'));
    [certs, pki, origin] = await Promise.all([generate(dir), testPki(), startTlsOrigin()]);
    gateway = await startGateway({
      listen: [],
      configYaml: `workers: 1\nlisten:\n${tlsListener(`{cert: ${certs.cert}, key: ${certs.key}, reloadCheckSeconds: 0.2}`)}`,
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
    await rm(certs.dir, { recursive: true, force: true });
  });

  test('a new pair serves new handshakes, the open tunnel carries on, a broken pair is refused', { timeout: hangBound(30_000) }, async () => {
    const oldCa = await readFile(certs.ca, 'utf8');
    const host = `reload.${DOMAIN}`;
    const proxy = await connectProxy(gateway.port, oldCa);
    const oldFingerprint = proxy.getPeerX509Certificate()?.fingerprint256;
    assert.equal((await connectOver(proxy, `${host}:443`)).status, 200);
    const inner = await connectTls(proxy, host, pki.caPem);

    const since = gateway.records.length;
    await generate(certs.dir, ['--force']);
    const reloaded = await waitFor(gateway, since, { event: 'certificate-reloaded', certificate: certs.cert });
    assert.equal(reloaded.eventId, 1601);
    const newCert = new X509Certificate(await readFile(certs.cert, 'utf8'));
    assert.equal(reloaded.fingerprint256, newCert.fingerprint256);
    const metrics = await (await fetch(`${gateway.metricsBaseUrl ?? assert.fail('no metrics listener')}/metrics`)).text();
    assert.ok(metrics.includes(`oms_gateway_certificate_expiry_timestamp_seconds{certificate="proxy:${certs.cert}"} ${Date.parse(newCert.validTo) / 1000}`), 'the expiry metric still shows the old certificate');

    assert.equal(await readText(await requestOver(inner, { method: 'GET', path: '/hello', host })), HELLO_BODY, 'the tunnel opened before the reload stopped working');
    const fresh = await connectProxy(gateway.port, await readFile(certs.ca, 'utf8'));
    assert.equal(fresh.getPeerX509Certificate()?.fingerprint256, newCert.fingerprint256);
    assert.notEqual(newCert.fingerprint256, oldFingerprint);
    fresh.destroy();
    await assert.rejects(connectProxy(gateway.port, oldCa), /certificate/i);

    const beforeBroken = gateway.records.length;
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(certs.key, other, { mode: 0o600 });
    const failed = await waitFor(gateway, beforeBroken, { event: 'certificate-reload-failed', reason: 'mismatched' });
    assert.equal(failed.eventId, 1602);
    const still = await connectProxy(gateway.port, await readFile(certs.ca, 'utf8'));
    assert.equal(still.getPeerX509Certificate()?.fingerprint256, newCert.fingerprint256, 'a broken pair replaced the working one');
    still.destroy();
    proxy.destroy();
  });

  test('a reload that removes the TLS listener removes its certificate expiry series', async () => {
    const scrapeText = async (): Promise<string> => (await fetch(`${gateway.metricsBaseUrl ?? assert.fail('no metrics listener')}/metrics`)).text();
    const series = `oms_gateway_certificate_expiry_timestamp_seconds{certificate="proxy:${certs.cert}"}`;
    assert.ok((await scrapeText()).includes(series));
    assert.ok(gateway.configFile);
    await writeFile(gateway.configFile, 'workers: 1\nlisten:\n  - address: 127.0.0.1:0\n');
    const since = gateway.records.length;
    process.kill(gateway.pid, 'SIGHUP');
    await waitFor(gateway, since, { event: 'config-reloaded' });
    assert.ok(!(await scrapeText()).includes(series), 'an alert would still fire for a certificate nothing serves');
  });
});

/** A self-signed certificate that expired yesterday (no CLI makes one, so forge does). */
function expiredPair(): { certPem: string; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 10 * 86_400_000);
  cert.validity.notAfter = new Date(Date.now() - 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'expired' }]);
  cert.setIssuer([{ name: 'commonName', value: 'expired' }]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

describe('start-up errors name the file and the fix (exit status 2)', () => {
  let dir: string;
  let certs: GatewayCerts;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-errors-'));
    certs = await generate(join(dir, 'good'));
    const other = await generate(join(dir, 'other'));
    const expired = expiredPair();
    await mkdir(join(dir, 'expired'));
    await Promise.all([
      writeFile(join(dir, 'expired', 'gateway.crt'), expired.certPem),
      writeFile(join(dir, 'expired', 'gateway.key'), expired.keyPem),
      writeFile(join(dir, 'missing.yaml'), `listen:\n  - address: 127.0.0.1:0\n    tls: {cert: ${join(dir, 'none.crt')}, key: ${certs.key}}\n`),
      writeFile(join(dir, 'mismatched.yaml'), `listen:\n  - address: 127.0.0.1:0\n    tls: {cert: ${certs.cert}, key: ${other.key}}\n`),
      writeFile(join(dir, 'expired.yaml'), `listen:\n  - address: 127.0.0.1:0\n    tls: {cert: ${join(dir, 'expired', 'gateway.crt')}, key: ${join(dir, 'expired', 'gateway.key')}}\n`),
    ]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cases: readonly { name: string; args: () => string[]; message: () => RegExp }[] = [
    { name: 'a missing certificate', args: () => ['--config', join(dir, 'missing.yaml')], message: () => /missing\.yaml:3: listen\[0\]\.tls\.cert: .*none\.crt does not exist; make a pair with `oms-gateway cert generate`/ },
    { name: 'a key of another certificate', args: () => ['--config', join(dir, 'mismatched.yaml')], message: () => /listen\[0\]\.tls\.key: .*other\/gateway\.key is not the private key of the certificate/ },
    { name: 'an expired certificate', args: () => ['--config', join(dir, 'expired.yaml')], message: () => /listen\[0\]\.tls\.cert: .*expired\/gateway\.crt expired on .*; renew it/ },
    { name: '--tls-cert naming a missing file', args: () => ['--listen', '127.0.0.1:0', '--tls-cert', join(dir, 'none.crt'), '--tls-key', certs.key], message: () => /--tls-cert .*none\.crt does not exist/ },
  ];
  for (const { name, args, message } of cases) {
    test(name, async () => {
      const result = await runCli(['start', '--metrics-listen', '127.0.0.1:0', ...args()]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message());
    });
  }

  test('start --tls-cert --tls-key serves TLS and plain on the --listen port', async () => {
    const origin = await startTlsOrigin();
    const gateway = await startGateway({
      args: ['--tls-cert', certs.cert, '--tls-key', certs.key, '--resolve', `*.${DOMAIN}=127.0.0.1:${origin.port}`],
      configYaml: 'workers: 1\n',
    });
    try {
      const proxy = await connectProxy(gateway.port, await readFile(certs.ca, 'utf8'));
      assert.equal((await connectOver(proxy, `flag-tls.${DOMAIN}:443`)).status, 200);
      proxy.destroy();
      assert.equal((await connectStatus(gateway.port, `flag-plain.${DOMAIN}:443`)).status, 200);
    } finally {
      await gateway.stop();
      await origin.close();
    }
  });
});
