// Limits and timeouts of the running gateway as a client meets them: over a connection or tunnel limit an
// immediate 503/429 with Retry-After (never a silent hang), oversized request heads 414/431, slow heads cut
// (slowloris), idle and overlong tunnels closed, the password-check slow path bounded. Every refusal is
// logged with its reason and counted, nothing behind the gateway is dialled for it, and the gateway serves
// the next good request.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { connectStatus, openTunnel, parseHead, rawExchange, type ResponseHead } from '../fixtures/raw-client.js';
import { assertTableAnswer, expectRefusal, expectStillServes } from '../fixtures/refusal.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const TARGET = 'tunnel.example';
/** Single process (so limits are not shared out among workers) and raw bytes through tunnels. */
const BASE = { workers: 1, inspection: { enabled: false } };

async function gatewayTo(sink: TcpSink, settings: Record<string, unknown>, configYaml?: string): Promise<Gateway> {
  const { stringify } = await import('yaml');
  return startGateway({
    configYaml: configYaml ?? stringify({ ...BASE, ...settings }),
    args: ['--allow-host', TARGET, '--resolve', `${TARGET}=127.0.0.1:${sink.port}`],
  });
}

/** A TCP connection from `localAddress` (any 127/8 address is this host) that sends nothing. */
async function idleConnection(port: number, localAddress: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/**
 * The first answer on `socket` and how long it took; fails after `timeoutMs`. The socket stays open: a
 * tunnel it answered 200 for keeps holding its connection slot until the test closes it.
 */
async function answerOn(socket: Socket, timeoutMs = 3000): Promise<{ head: ResponseHead; ms: number }> {
  const started = performance.now();
  let data = Buffer.alloc(0);
  const deadline = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  try {
    for await (const chunk of socket.iterator({ destroyOnReturn: false })) {
      data = Buffer.concat([data, chunk as Buffer]);
      if (data.includes('\r\n\r\n')) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  return { head: parseHead(data), ms: performance.now() - started };
}

/** The status of `attempt`, retried while the gateway has not yet seen a closed connection go (bounded). */
async function statusOnceFree(attempt: () => Promise<ResponseHead>, timeoutMs = 3000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let status = (await attempt()).status;
  while (status !== 200 && Date.now() < deadline) {
    await sleep(50);
    status = (await attempt()).status;
  }
  return status;
}

async function metricsText(gateway: Gateway): Promise<string> {
  assert.ok(gateway.metricsBaseUrl !== undefined, 'no metrics listener');
  return (await fetch(`${gateway.metricsBaseUrl}/metrics`)).text();
}

describe('connection limits', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  const held: Socket[] = [];
  before(async () => {
    sink = await startTcpSink();
    gateway = await gatewayTo(sink, { limits: { maxConnections: 4, maxConnectionsPerClient: 2 } });
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await gateway.stop();
    await sink.close();
  });

  test('a third connection from one address is answered 429 at once; other addresses still get in', async () => {
    held.push(await idleConnection(gateway.port, '127.0.0.2'), await idleConnection(gateway.port, '127.0.0.2'));
    const since = gateway.records.length;
    const third = await idleConnection(gateway.port, '127.0.0.2');
    const { head, ms } = await answerOn(third);
    assert.equal(head.status, 429);
    assert.equal(head.headers['retry-after'], '5');
    assert.ok(ms < 1000, `answered after ${ms} ms`);
    const record = await gateway.waitForRecord((r) => r.event === 'limit-refused', 5000, since);
    assert.equal(record.eventId, 1400);
    assert.equal(record.reason, 'client-connection-limit');
    assert.equal(record.client, '127.0.0.2');

    const other = connect({ host: '127.0.0.1', port: gateway.port, localAddress: '127.0.0.3' });
    held.push(other);
    await once(other, 'connect');
    other.write(`CONNECT ${TARGET}:443 HTTP/1.1\r\nHost: ${TARGET}:443\r\n\r\n`);
    assert.equal((await answerOn(other)).head.status, 200);
  });

  test('beyond maxConnections every address is answered 503 at once, nothing is dialled, and a closed connection frees a slot', async () => {
    held.push(await idleConnection(gateway.port, '127.0.0.4'));
    const dialled = sink.connections;
    const since = gateway.records.length;
    const refused = await idleConnection(gateway.port, '127.0.0.5');
    const { head, ms } = await answerOn(refused);
    assert.equal(head.status, 503);
    assert.equal(head.headers['retry-after'], '5');
    assert.ok(ms < 1000, `answered after ${ms} ms`);
    assert.equal(sink.connections, dialled);
    const record = await gateway.waitForRecord((r) => r.event === 'limit-refused', 5000, since);
    assert.equal(record.reason, 'too-many-connections');
    assert.equal(record.status, 503);
    assert.match(await metricsText(gateway), /oms_gateway_rejections_total\{reason="too-many-connections"\} [1-9]/);
    assert.match(await metricsText(gateway), /oms_gateway_rejections_total\{reason="client-connection-limit"\} [1-9]/);

    for (const socket of held.splice(0)) socket.destroy();
    assert.equal(await statusOnceFree(() => connectStatus(gateway.port, `${TARGET}:443`)), 200, 'a connection is admitted again once others closed');
  });
});

describe('tunnels per user', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  const AGENT = { name: 'agent', password: 'agent-Password-1' };
  const OTHER = { name: 'other', password: 'other-Password-2' };
  const as = (user: { name: string; password: string }) => ({ headers: { 'Proxy-Authorization': basicCredentials(user.name, user.password) } });
  before(async () => {
    sink = await startTcpSink();
    gateway = await gatewayTo(sink, {}, await basicAuthYaml([AGENT, OTHER], { ...BASE, limits: { maxTunnelsPerUser: 2 } }));
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  test('a user holding maxTunnelsPerUser tunnels gets 429 for the next; other users do not; a closed tunnel frees its slot', async () => {
    const first = await openTunnel(gateway.port, `${TARGET}:443`, as(AGENT));
    const second = await openTunnel(gateway.port, `${TARGET}:443`, as(AGENT));
    const dialled = sink.connections;
    const refused = await connectStatus(gateway.port, `${TARGET}:443`, as(AGENT));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal(sink.connections, dialled, 'nothing was dialled for the refused tunnel');
    const record = await gateway.waitForRecord((r) => r.event === 'limit-refused' && r.reason === 'user-tunnel-limit');
    assert.equal(record.user, AGENT.name);
    assert.equal(record.target, `${TARGET}:443`);

    const other = await openTunnel(gateway.port, `${TARGET}:443`, as(OTHER));
    other.socket.destroy();
    first.socket.destroy();
    assert.equal(await statusOnceFree(() => connectStatus(gateway.port, `${TARGET}:443`, as(AGENT))), 200);
    second.socket.destroy();
  });
});

describe('request head limits and the head timeout', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await gatewayTo(sink, {
      limits: { maxRequestTargetBytes: 128, maxHeaderCount: 10, maxHeaderBytes: 2048 },
      timeouts: { requestHeadSeconds: 1 },
    });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  const headers = (n: number): string => Array.from({ length: n }, (_, i) => `X-Field-${i}: v\r\n`).join('');
  const longName = `${'a'.repeat(60)}.${'b'.repeat(60)}.${TARGET}`;
  const cases = [
    { name: 'a CONNECT target over maxRequestTargetBytes', raw: `CONNECT ${longName}:443 HTTP/1.1\r\n\r\n`, status: 414, reason: 'uri-too-long', code: 'uri-too-long' },
    { name: 'an absolute URI over maxRequestTargetBytes', raw: `GET http://${TARGET}/${'p'.repeat(200)} HTTP/1.1\r\nHost: ${TARGET}\r\n\r\n`, status: 414, reason: 'uri-too-long', code: 'uri-too-long' },
    { name: 'a CONNECT with more than maxHeaderCount fields', raw: `CONNECT ${TARGET}:443 HTTP/1.1\r\nHost: ${TARGET}:443\r\n${headers(10)}\r\n`, status: 431, reason: 'too-many-headers', code: 'too-many-headers' },
    { name: 'a head over maxHeaderBytes', raw: `CONNECT ${TARGET}:443 HTTP/1.1\r\nHost: ${TARGET}:443\r\nX-Big: ${'v'.repeat(3000)}\r\n\r\n`, status: 431, reason: 'HPE_HEADER_OVERFLOW', code: 'header-too-large' },
    // Node's parser refuses it: answered from the error table like the gateway's own refusals.
    { name: 'a head the parser refuses (a space in a field name)', raw: `CONNECT ${TARGET}:443 HTTP/1.1\r\nHost: ${TARGET}:443\r\nX A: b\r\n\r\n`, status: 400, reason: 'HPE_INVALID_HEADER_TOKEN', code: 'bad-request' },
  ] as const;
  for (const { name, raw, status, reason, code } of cases) {
    test(`${status}: ${name}`, async () => {
      const since = gateway.records.length;
      const result = await expectRefusal(gateway, raw, { statuses: [status], untouched: [sink] });
      assertTableAnswer(result.data, code);
      const record = await gateway.waitForRecord((r) => r.event === 'bad-request', 5000, since);
      assert.equal(record.reason, reason);
      await expectStillServes(gateway, `${TARGET}:443`, sink);
    });
  }

  test('a head sent a byte at a time (slowloris) is cut at requestHeadSeconds with 408', async () => {
    const socket = connect({ host: '127.0.0.1', port: gateway.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const started = performance.now();
    const closed = once(socket, 'close');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const request = `CONNECT ${TARGET}:443 HTTP/1.1\r\nHost: ${TARGET}:443\r\nX-Slow: ${'z'.repeat(100)}`;
    for (let i = 0; i < request.length && !socket.destroyed && performance.now() - started < 6000; i++) {
      socket.write(request[i] ?? '');
      await sleep(100);
    }
    await closed;
    const ms = performance.now() - started;
    assert.ok(ms >= 900 && ms < 3500, `cut after ${ms} ms`);
    assert.equal(parseHead(Buffer.concat(chunks)).status, 408);
    assertTableAnswer(Buffer.concat(chunks), 'request-timeout');
    await expectStillServes(gateway, `${TARGET}:443`);
  });

  test('a connection that sends nothing is closed at requestHeadSeconds too', async () => {
    const started = performance.now();
    const result = await rawExchange(gateway.port, '', { idleMs: 5000, maxMs: 6000 });
    const ms = performance.now() - started;
    assert.notEqual(result.ending, 'idle');
    assert.ok(ms < 3500, `closed after ${ms} ms`);
  });
});

describe('tunnel idle timeout and maximum lifetime', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await gatewayTo(sink, { timeouts: { tunnelIdleSeconds: 1, tunnelMaxSeconds: 2.5 } });
  });
  after(async () => {
    await gateway.stop();
    await sink.close();
  });

  test('a tunnel without a byte for tunnelIdleSeconds is closed on both sides (closedBy idle-timeout)', async () => {
    const since = gateway.records.length;
    const { socket } = await openTunnel(gateway.port, `${TARGET}:443`);
    const started = performance.now();
    socket.resume();
    await once(socket, 'close');
    const ms = performance.now() - started;
    assert.ok(ms >= 900 && ms < 2400, `closed after ${ms} ms`);
    const record = await gateway.waitForRecord((r) => r.event === 'tunnel-closed', 5000, since);
    assert.equal(record.closedBy, 'idle-timeout');
  });

  test('a busy tunnel is closed at tunnelMaxSeconds (closedBy max-lifetime)', async () => {
    const since = gateway.records.length;
    const { socket } = await openTunnel(gateway.port, `${TARGET}:443`);
    socket.resume();
    socket.on('error', () => undefined);
    const ticker = setInterval(() => socket.write('tick'), 200);
    try {
      await once(socket, 'close');
    } finally {
      clearInterval(ticker);
    }
    const record = await gateway.waitForRecord((r) => r.event === 'tunnel-closed', 5000, since);
    assert.equal(record.closedBy, 'max-lifetime');
    assert.ok(Number(record.durationMs) >= 2400 && Number(record.durationMs) < 4000, `lasted ${String(record.durationMs)} ms`);
  });
});

describe('the password-check slow path', () => {
  const USER = { name: 'agent', password: 'slow-Path-Password-9' };

  test('a check that takes longer than authSeconds is answered 503 with Retry-After', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await gatewayTo(sink, {}, await basicAuthYaml([USER], { ...BASE, timeouts: { authSeconds: 0.001 } }));
    t.after(() => gateway.stop());
    const head = await connectStatus(gateway.port, `${TARGET}:443`, { headers: { 'Proxy-Authorization': basicCredentials(USER.name, USER.password) } });
    assert.equal(head.status, 503);
    assert.equal(head.headers['retry-after'], '5');
    assertTableAnswer(head, 'auth-busy');
    const record = await gateway.waitForRecord((r) => r.event === 'auth-failed');
    assert.equal(record.reason, 'busy');
    assert.equal(record.status, 503);
    assert.equal(sink.connections, 0);
  });

  test('beyond maxPendingAuthentications checks at once the rest are answered 503 at once', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const gateway = await gatewayTo(sink, {}, await basicAuthYaml([USER], { ...BASE, limits: { maxPendingAuthentications: 1 } }));
    t.after(() => gateway.stop());
    const attempts = Array.from({ length: 6 }, (_, i) =>
      connectStatus(gateway.port, `${TARGET}:443`, { headers: { 'Proxy-Authorization': basicCredentials(USER.name, `wrong-${i}`) } }),
    );
    const statuses = (await Promise.all(attempts)).map((head) => head.status);
    assert.ok(statuses.includes(503), `statuses ${statuses.join(', ')}`);
    assert.ok(statuses.every((status) => status === 503 || status === 407), `statuses ${statuses.join(', ')}`);
    const ok = await connectStatus(gateway.port, `${TARGET}:443`, { headers: { 'Proxy-Authorization': basicCredentials(USER.name, USER.password) } });
    assert.equal(ok.status, 200, 'the right password is accepted once the queue has drained');
  });
});
