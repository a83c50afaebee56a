// Pipelined requests on one keep-alive connection (issue 16, finding 8): each is sent upstream only when the
// one before it has been answered, nothing queued behind a refusal is ever sent, and every request that was
// sent gets its request-completed record. The origin counts what it received and holds /slow until the test
// lets it answer, so "the POST went upstream while the GET was still open" is a count, not a timing.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { statusCodes } from '../fixtures/raw-client.js';

const HOST = 'pipeline.example.test';
const TUNNEL_HOST = 'tunnel.example.test';

/** An origin that records every request it parsed and holds each GET /slow until `release()`. */
interface HoldingOrigin {
  readonly port: number;
  readonly seen: readonly string[];
  release(): void;
  close(): Promise<void>;
}

async function startHoldingOrigin(): Promise<HoldingOrigin> {
  const seen: string[] = [];
  let held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    };
    if (req.url === '/slow') held.push(answer);
    else req.on('end', answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    release: () => {
      const waiting = held;
      held = [];
      for (const answer of waiting) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw client connection: what it wrote, what came back, and its local port (the audit records' clientPort). */
interface RawClient {
  readonly socket: Socket;
  readonly port: number;
  received(): Buffer;
  /** Resolves when the gateway has closed the connection; fails after 10 s. */
  closed(): Promise<void>;
}

async function rawClient(port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    port: socket.localPort ?? 0,
    received: () => Buffer.concat(chunks),
    closed: async () => {
      const timeout = sleep(10_000).then(() => assert.fail(`the gateway did not close the connection: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
      await Promise.race([ended, timeout]);
    },
  };
}

async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited >= 5000) assert.fail(`${what} did not happen within 5 s`);
    await sleep(10);
  }
}

const get = (path: string, host = HOST): string => `GET http://${host}${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
const post = (path: string): string => `POST http://${HOST}${path} HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\n\r\nhello`;

describe('pipelined requests on one connection', () => {
  let origin: HoldingOrigin;
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    origin = await startHoldingOrigin();
    sink = await startTcpSink();
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\n',
      args: ['--allow-host', `${HOST}:80`, '--resolve', `${HOST}=127.0.0.1:${origin.port}`, '--allow-host', TUNNEL_HOST, '--resolve', `${TUNNEL_HOST}=127.0.0.1:${sink.port}`],
    });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
    await sink.close();
  });

  /** Every request-allowed record of this connection has its request-completed record, and vice versa. */
  async function assertEveryRequestCompleted(client: RawClient, expected: number): Promise<void> {
    const mine = (event: string) => (record: AuditRecord): boolean => record.event === event && record.clientPort === client.port;
    await waitUntil(`${expected} request-completed records`, () => gateway.records.filter(mine('request-completed')).length >= expected);
    assert.equal(gateway.records.filter(mine('request-allowed')).length, expected, 'request-allowed records');
    assert.equal(gateway.records.filter(mine('request-completed')).length, expected, 'request-completed records');
  }

  test('a refusal stops the pipeline: the POST queued behind it is never sent upstream', async () => {
    const before = origin.seen.length;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/slow'));
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    // The refused request (a name outside the allowlist) and an allowed POST, while GET /slow is still open.
    client.socket.write(get('/', 'denied.example.com') + post('/post'));
    // Room for a gateway that handles pipelined requests at once to send the POST; one that waits sends nothing.
    await sleep(500);
    assert.deepEqual(origin.seen.slice(before), ['GET /slow'], 'a request behind the open GET reached the origin');
    origin.release();
    await client.closed();
    assert.deepEqual(statusCodes(client.received()), [200, 403], 'the GET answered, then the refusal, then the connection closed');
    assert.deepEqual(origin.seen.slice(before), ['GET /slow'], 'the POST behind the refusal reached the origin');
    await assertEveryRequestCompleted(client, 1);
    await gateway.waitForRecord((record) => record.event === 'request-denied' && record.clientPort === client.port);
  });

  test('allowed requests go upstream one at a time, in order, each answered and recorded', async () => {
    const before = origin.seen.length;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/slow') + post('/post') + get('/after'));
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    await sleep(500);
    assert.deepEqual(origin.seen.slice(before), ['GET /slow'], 'a request behind the open GET reached the origin');
    origin.release();
    await waitUntil('three answers', () => statusCodes(client.received()).length === 3);
    assert.deepEqual(statusCodes(client.received()), [200, 200, 200]);
    assert.deepEqual(origin.seen.slice(before), ['GET /slow', 'POST /post', 'GET /after']);
    client.socket.destroy();
    await assertEveryRequestCompleted(client, 3);
  });

  test('a request-head refusal (505) in the middle stops the pipeline too', async () => {
    const before = origin.seen.length;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/slow'));
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    client.socket.write(`GET http://${HOST}/two HTTP/2.0\r\nHost: ${HOST}\r\n\r\n${post('/post')}`);
    await sleep(500);
    origin.release();
    await client.closed();
    assert.deepEqual(statusCodes(client.received()), [200, 505]);
    assert.deepEqual(origin.seen.slice(before), ['GET /slow'], 'the POST behind the refusal reached the origin');
    await assertEveryRequestCompleted(client, 1);
  });

  test('a request that fails to parse behind an open one is answered 400 after it, in order', async () => {
    const before = origin.seen.length;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/slow'));
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    client.socket.write(`GET http://${HOST}/bad HTTP/1.1\r\nHost: ${HOST}\r\nNo colon here\r\n\r\n${post('/post')}`);
    await gateway.waitForRecord((record) => record.event === 'bad-request' && record.client === '127.0.0.1' && record.reason === 'HPE_INVALID_HEADER_TOKEN');
    origin.release();
    await client.closed();
    assert.deepEqual(statusCodes(client.received()), [200, 400], 'the 400 cut in before the open answer');
    assert.deepEqual(origin.seen.slice(before), ['GET /slow']);
    await assertEveryRequestCompleted(client, 1);
  });

  test('bytes after an HTTP/1.0 request are ignored: its answer, then the connection closes', async () => {
    const before = origin.seen.length;
    const client = await rawClient(gateway.port);
    client.socket.write(`GET http://${HOST}/slow HTTP/1.0\r\nHost: ${HOST}\r\n\r\n${post('/post')}`);
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    origin.release();
    await client.closed();
    assert.deepEqual(statusCodes(client.received()), [200]);
    assert.deepEqual(origin.seen.slice(before), ['GET /slow']);
    await assertEveryRequestCompleted(client, 1);
  });

  const connectLine = `CONNECT ${TUNNEL_HOST}:443 HTTP/1.1\r\nHost: ${TUNNEL_HOST}:443\r\n\r\n`;

  test('a CONNECT pipelined behind a refusal is never dialled', async () => {
    const connections = sink.connections;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/', 'denied.example.com') + connectLine);
    await client.closed();
    assert.deepEqual(statusCodes(client.received()), [403]);
    assert.equal(sink.connections, connections, 'the CONNECT behind the refusal was dialled');
  });

  test('a CONNECT pipelined behind an open request opens its tunnel only after that answer', async () => {
    const before = origin.seen.length;
    const connections = sink.connections;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/slow') + connectLine);
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    await sleep(500);
    assert.equal(sink.connections, connections, 'the tunnel was dialled while the GET was still open');
    origin.release();
    await waitUntil('the tunnel\'s 200', () => client.received().includes('Connection established'));
    const text = client.received().toString('latin1');
    assert.ok(text.startsWith('HTTP/1.1 200 OK'), `the GET's answer came first: ${JSON.stringify(text)}`);
    assert.ok(text.endsWith('okHTTP/1.1 200 Connection established\r\n\r\n'), JSON.stringify(text));
    await waitUntil('the sink counting the tunnel', () => sink.connections > connections);
    client.socket.write('through the tunnel');
    await waitUntil('the bytes reaching the sink', () => sink.received.includes('through the tunnel'));
    client.socket.destroy();
  });

  test('a client that leaves with requests queued: only the request that was sent is recorded', async () => {
    const before = origin.seen.length;
    const client = await rawClient(gateway.port);
    client.socket.write(get('/slow') + post('/post'));
    await waitUntil('the origin receiving GET /slow', () => origin.seen.length > before);
    client.socket.destroy();
    await assertEveryRequestCompleted(client, 1);
    origin.release();
    await sleep(200);
    assert.deepEqual(origin.seen.slice(before), ['GET /slow'], 'the POST queued on a closed connection reached the origin');
  });
});
