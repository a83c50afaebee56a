// The relay (parent) proxy: agent → gateway → parent → origin, with a second oms-gateway and a real Squid
// as the parent, with and without parent credentials, over http:// and https://, plain HTTP too; and every
// way the parent can fail, answered 502/504 that never name the parent (its URL, what it answered and its
// status are in the audit log only).

import assert from 'node:assert/strict';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startHttpOrigin, startTcpSink, startTlsOrigin, type HttpOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki, type TestPki } from '../fixtures/pki.js';
import { connectStatus, openTunnel, rawExchange, parseHead } from '../fixtures/raw-client.js';
import { startSquid, type Squid } from '../fixtures/squid.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const HOST = 'ws1.ods.opinsights.azure.com';
const PLAIN_HOST = 'plain.example.com';
const RELAY_USER = { name: 'relay-user', password: 'relay-secret-1' };

/** GET /hello inside a TLS tunnel to `host:port` opened through `gateway`. */
async function helloThrough(gateway: Gateway, host: string, port: number, pki: TestPki, headers: Record<string, string> = {}): Promise<string> {
  const { socket } = await openTunnel(gateway.port, `${host}:${port}`, { headers });
  const tls = await connectTls(socket, host, pki.caPem);
  try {
    const res = await requestOver(tls, { method: 'GET', path: '/hello', host });
    return await readText(res);
  } finally {
    tls.destroy();
  }
}

/** One gateway process (workers: 1) keeps these tests quick; the relay code is the same in every worker. */
function relayYaml(url: string, extra: Record<string, unknown> = {}, relay: Record<string, unknown> = {}): string {
  return stringify({ workers: 1, ...extra, relayProxy: { url, ...relay } });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('relay through a second oms-gateway', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let parent: Gateway;
  before(async () => {
    pki = await testPki();
    origin = await startTlsOrigin();
    parent = await startGateway({ startTimeoutMs: 60_000, args: ['--workers', '1', '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`] });
  });
  after(async () => {
    await parent?.stop();
    await origin?.close();
  });

  test('a tunnel goes gateway → parent → origin, and both gateways log it', async (t) => {
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(parent.proxyUrl) });
    t.after(() => gateway.stop());
    assert.equal(await helloThrough(gateway, HOST, 443, pki), HELLO_BODY);
    const allowed = await gateway.waitForRecord(recordMatching({ event: 'request-allowed', target: `${HOST}:443` }));
    assert.equal(allowed.relay, parent.proxyUrl);
    await parent.waitForRecord(recordMatching({ event: 'request-allowed', target: `${HOST}:443` }));
  });

  test('over https:// to the parent (TLS to the relay, its CA from relayProxy.caFile)', async (t) => {
    const front = await tlsFront(pki, parent.port);
    t.after(() => front.close());
    const { port } = front;
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(`https://localhost:${port}`, {}, { caFile: pki.caFile }) });
    t.after(() => gateway.stop());
    assert.equal(await helloThrough(gateway, HOST, 443, pki), HELLO_BODY);
  });

  test('https:// to a relay whose certificate is not trusted: 502 naming the relay', async (t) => {
    const front = await tlsFront(pki, parent.port);
    t.after(() => front.close());
    const { port } = front;
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(`https://localhost:${port}`) });
    t.after(() => gateway.stop());
    const head = await connectStatus(gateway.port, `${HOST}:443`);
    assert.equal(head.status, 502);
    const record = await gateway.waitForRecord(recordMatching({ event: 'upstream-error', reason: 'relay-unreachable' }));
    assert.equal(record.relay, `https://localhost:${port}`);
  });

  test('the parent refuses the target (403): the agent gets 502 that does not name the parent, the audit log has 403', async (t) => {
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(parent.proxyUrl), args: ['--allow-host', 'not-on-parent.example.com:443'] });
    t.after(() => gateway.stop());
    const result = await rawExchange(gateway.port, 'CONNECT not-on-parent.example.com:443 HTTP/1.1\r\nHost: not-on-parent.example.com:443\r\n\r\n');
    const head = parseHead(result.data);
    assert.equal(head.status, 502);
    assertRelayHidden(result.text, parent.proxyUrl);
    const record = await gateway.waitForRecord(recordMatching({ event: 'upstream-error', target: 'not-on-parent.example.com:443' }));
    assert.equal(record.reason, 'relay-refused');
    assert.equal(record.relay, parent.proxyUrl);
    assert.equal(record.relayError, 'answered 403');
    assert.equal(record.relayStatus, 403);
    assert.equal(record.status, 502);
  });

  test('names in relayProxy.bypass go directly, not through the parent', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await startGateway({
      configYaml: relayYaml(`http://127.0.0.1:${sink.port}`, {}, { bypass: ['*.ods.opinsights.azure.com'] }),
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`],
    });
    t.after(() => gateway.stop());
    assert.equal(await helloThrough(gateway, HOST, 443, pki), HELLO_BODY);
    assert.equal(sink.connections, 0, 'the relay was contacted for a bypassed name');
  });
});

describe('relay through Squid', () => {
  let pki: TestPki;
  let origin: TlsOrigin;
  let plain: HttpOrigin;
  let squid: Squid;
  let authSquid: Squid;
  before(async () => {
    pki = await testPki();
    origin = await startTlsOrigin();
    plain = await startHttpOrigin();
    const hosts = { [HOST]: '127.0.0.1', [PLAIN_HOST]: '127.0.0.1' };
    squid = await startSquid({ hosts });
    authSquid = await startSquid({ hosts, users: [RELAY_USER] });
  });
  after(async () => {
    await squid?.close();
    await authSquid?.close();
    await origin?.close();
    await plain?.close();
  });

  test('without credentials: CONNECT tunnels reach the origin through Squid', async (t) => {
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(squid.url), args: ['--allow-host', `${HOST}:${origin.port}`] });
    t.after(() => gateway.stop());
    assert.equal(await helloThrough(gateway, HOST, origin.port, pki), HELLO_BODY);
    assert.match(await squid.accessLog(), new RegExp(`CONNECT ${HOST.replaceAll('.', '\\.')}:${origin.port}`));
  });

  test('plain http:// requests go through Squid as a CONNECT to host:port', async (t) => {
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(squid.url), args: ['--allow-host', `${PLAIN_HOST}:${plain.port}`] });
    t.after(() => gateway.stop());
    const result = await rawExchange(gateway.port, `GET http://${PLAIN_HOST}:${plain.port}/hello HTTP/1.1\r\nHost: ${PLAIN_HOST}:${plain.port}\r\nConnection: close\r\n\r\n`);
    const head = parseHead(result.data);
    assert.equal(head.status, 200);
    assert.equal(head.rest.toString(), HELLO_BODY);
    assert.equal(plain.requests.at(-1)?.url, '/hello');
    assert.match(await squid.accessLog(), new RegExp(`CONNECT ${PLAIN_HOST.replaceAll('.', '\\.')}:${plain.port}`));
  });

  test('with credentials: the relay user authenticates to Squid, the agent authenticates to the gateway', async (t) => {
    const agent = { name: 'agent', password: 'agent-secret-9' };
    const gateway = await startGateway({
      configYaml: `${await basicAuthYaml([agent])}${relayYaml(authSquid.url, {}, { username: RELAY_USER.name, password: RELAY_USER.password })}`,
      args: ['--allow-host', `${HOST}:${origin.port}`],
    });
    t.after(() => gateway.stop());
    const body = await helloThrough(gateway, HOST, origin.port, pki, { 'Proxy-Authorization': basicCredentials(agent.name, agent.password) });
    assert.equal(body, HELLO_BODY);
    assert.match(await authSquid.accessLog(), new RegExp(`CONNECT ${HOST.replaceAll('.', '\\.')}:${origin.port} ${RELAY_USER.name} `));
    assert.ok(!gateway.stdout.includes(RELAY_USER.password), 'the relay password was logged');
  });

  test('wrong relay credentials: Squid answers 407, the agent gets 502 that does not name the relay, never a 407', async (t) => {
    const gateway = await startGateway({
      configYaml: relayYaml(authSquid.url, {}, { username: RELAY_USER.name, password: 'wrong-password' }),
      args: ['--allow-host', `${HOST}:${origin.port}`],
    });
    t.after(() => gateway.stop());
    const result = await rawExchange(gateway.port, `CONNECT ${HOST}:${origin.port} HTTP/1.1\r\nHost: ${HOST}:${origin.port}\r\n\r\n`);
    const head = parseHead(result.data);
    assert.equal(head.status, 502);
    assert.equal(head.headers['proxy-authenticate'], undefined);
    assertRelayHidden(result.text, authSquid.url);
    const record = await gateway.waitForRecord(recordMatching({ event: 'upstream-error', reason: 'relay-refused' }));
    assert.equal(record.relayStatus, 407);
    assert.equal(record.relayError, 'answered 407 (check relayProxy.username and password)');
    assert.ok(!gateway.stdout.includes('wrong-password'));
  });

  test('no relay credentials where Squid wants them: 502 with the relay status 407 in the audit log', async (t) => {
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(authSquid.url), args: ['--allow-host', `${HOST}:${origin.port}`] });
    t.after(() => gateway.stop());
    assert.equal((await connectStatus(gateway.port, `${HOST}:${origin.port}`)).status, 502);
    const record = await gateway.waitForRecord(recordMatching({ event: 'upstream-error', reason: 'relay-refused' }));
    assert.equal(record.relayStatus, 407);
  });
});

describe('relay failures and the allowlist', () => {
  test('a relay that is not listening: 502 that does not name it, relay-unreachable in the audit log', async (t) => {
    const port = await closedPort();
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(`http://127.0.0.1:${port}`) });
    t.after(() => gateway.stop());
    const result = await rawExchange(gateway.port, `CONNECT ${HOST}:443 HTTP/1.1\r\nHost: ${HOST}:443\r\n\r\n`);
    const head = parseHead(result.data);
    assert.equal(head.status, 502);
    assertRelayHidden(result.text, `http://127.0.0.1:${port}`);
    const record = await gateway.waitForRecord(recordMatching({ event: 'upstream-error', reason: 'relay-unreachable' }));
    assert.equal(record.relay, `http://127.0.0.1:${port}`);
    assert.equal(record.relayError, 'could not be reached (ECONNREFUSED)');
    assert.equal(record.eventId, 403);
  });

  test('a relay that never answers: 504 after timeouts.connectSeconds, relay-timeout', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(`http://127.0.0.1:${sink.port}`, { timeouts: { connectSeconds: 0.5 } }) });
    t.after(() => gateway.stop());
    assert.equal((await connectStatus(gateway.port, `${HOST}:443`)).status, 504);
    await gateway.waitForRecord(recordMatching({ event: 'upstream-error', reason: 'relay-timeout' }));
  });

  test('the allowlist is enforced before the relay is contacted', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await startGateway({ startTimeoutMs: 60_000, configYaml: relayYaml(`http://127.0.0.1:${sink.port}`) });
    t.after(() => gateway.stop());
    assert.equal((await connectStatus(gateway.port, 'evil.example.com:443')).status, 403);
    assert.equal((await connectStatus(gateway.port, `${HOST}:22`)).status, 403);
    await gateway.waitForRecord(recordMatching({ event: 'request-denied', target: `${HOST}:22` }));
    assert.equal(sink.connections, 0, 'the relay saw a connection for a denied target');
  });

  test('the relay gets its own credentials, never the agent\'s', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const agent = { name: 'agent', password: 'agent-secret-3' };
    const gateway = await startGateway({
      configYaml: `${await basicAuthYaml([agent])}${relayYaml(`http://127.0.0.1:${sink.port}`, { timeouts: { connectSeconds: 0.5 } }, { username: RELAY_USER.name, password: RELAY_USER.password })}`,
    });
    t.after(() => gateway.stop());
    await connectStatus(gateway.port, `${HOST}:443`, { headers: { 'Proxy-Authorization': basicCredentials(agent.name, agent.password) } });
    const sent = sink.received.toString('latin1');
    assert.match(sent, new RegExp(`^CONNECT ${HOST.replaceAll('.', '\\.')}:443 HTTP/1\\.1\r\n`));
    assert.ok(sent.includes(`Proxy-Authorization: ${basicCredentials(RELAY_USER.name, RELAY_USER.password)}\r\n`), sent);
    assert.ok(!sent.includes(basicCredentials(agent.name, agent.password)), 'the agent\'s credentials reached the relay');
  });
});

/** The answer carries the table's reason only: not the relay's URL, host or port, nor what it said. */
function assertRelayHidden(answer: string, relayUrl: string): void {
  const { host, port } = new URL(relayUrl);
  for (const leak of [relayUrl, host, port, 'relay proxy http', 'answered']) {
    assert.ok(!answer.includes(leak), `the answer names the relay (${leak}): ${JSON.stringify(answer)}`);
  }
}

interface TlsFront {
  readonly port: number;
  close(): Promise<void>;
}

/** TLS in front of a plain proxy port: an https:// relay for the tests. */
async function tlsFront(pki: TestPki, backendPort: number): Promise<TlsFront> {
  const open = new Set<Socket>();
  const server: TlsServer = createTlsServer({ key: pki.keyPem, cert: pki.certPem }, (tls) => {
    const backend = connect({ host: '127.0.0.1', port: backendPort });
    for (const socket of [tls, backend]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    }
    backend.once('close', () => tls.destroy());
    tls.pipe(backend).pipe(tls);
    tls.on('error', () => backend.destroy());
    backend.on('error', () => tls.destroy());
    tls.on('close', () => backend.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
