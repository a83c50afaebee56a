// The connection limiter on real loopback sockets: what is admitted, what is answered 503/429 with
// Retry-After (never a silent hang), that slots come back when sockets close, and that every refusal is
// logged with its reason and counted in the metrics.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, Socket, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { LimitsConfig } from '../../src/config/types.js';
import type { ConnectionContext } from '../../src/proxy/context.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { ConnectionLimiter } from '../../src/proxy/limits.js';
import { openListener, type ListenerServices } from '../../src/proxy/listener.js';
import { listenerServices } from '../fixtures/listener-services.js';
import { parseHead } from '../fixtures/raw-client.js';
import { Exchange, ExchangeIds } from '../../src/proxy/exchange.js';
import { Landing } from '../../src/net/landing.js';
import { refuseSocket } from '../../src/proxy/respond.js';
import { parseAuthority } from '../../src/policy/target.js';

const LIMITS: LimitsConfig = {
  maxConnections: 3,
  maxConnectionsPerClient: 0,
  maxTunnelsPerUser: 0,
  maxPendingAuthentications: 8,
  maxRequestTargetBytes: 4096,
  maxHeaderCount: 100,
  maxHeaderBytes: 16384,
};

type LogRecord = Record<string, unknown>;

function capturingLogger() {
  const records: LogRecord[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString()) as LogRecord);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), records };
}

interface Connection {
  readonly admitted: boolean;
  /** The peer's end. */
  readonly client: Socket;
  /** The end the limiter saw. */
  readonly accepted: Socket;
  /** Everything the peer received until the connection closed. */
  readonly answer: Promise<string>;
}

/** A loopback server whose accepted sockets go through one limiter, as a listener's do. */
async function harness(limits: Partial<LimitsConfig> = {}, ceiling?: number) {
  const { logger, records } = capturingLogger();
  const metrics = new GatewayMetrics({ version: 'test', workspaceLabels: false, maxWorkspaces: 1 });
  let current: LimitsConfig = { ...LIMITS, ...limits };
  const limiter = new ConnectionLimiter({ limits: () => current, logger, metrics, ceiling });
  const server: Server = createServer({ allowHalfOpen: true });
  const waiting: ((socket: Socket) => void)[] = [];
  server.on('connection', (socket: Socket) => waiting.shift()?.(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  const port = address.port;
  const open: Socket[] = [];

  type Gate = (socket: Socket, ctx: ConnectionContext) => boolean;
  async function connectAs(clientAddress: string, gate: Gate = (socket, ctx) => limiter.admitConnection(socket, ctx)): Promise<Connection> {
    const acceptedPromise = new Promise<Socket>((resolve) => waiting.push(resolve));
    const client = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    client.on('error', () => undefined);
    const answer = once(client, 'close').then(() => Buffer.concat(chunks).toString('latin1'));
    const accepted = await acceptedPromise;
    open.push(client, accepted);
    const admitted = gate(accepted, { client: clientAddress, clientPort: 1, listener: 'test' });
    return { admitted, client, accepted, answer };
  }

  const close = async (): Promise<void> => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  const setLimits = (next: Partial<LimitsConfig>): void => {
    current = { ...current, ...next };
  };
  const ids = new ExchangeIds();
  /** What the CONNECT handler does once a tunnel to x:443 is admitted: hold a slot, or refuse through its exchange. */
  const admitTunnel = (socket: Socket, user: string | undefined): boolean => {
    const exchange = new Exchange({ logger, metrics, ids, landing: new Landing() }, 'tunnel', { client: '10.9.9.9', clientPort: 1, listener: 'test' }, 'CONNECT', (code) => refuseSocket(socket, code));
    const target = parseAuthority('x:443');
    assert.ok(target.ok);
    exchange.admit({ ok: true, target: target.target, user, entry: 'x:443', wouldDeny: undefined, clientRule: undefined });
    const refusal = limiter.holdTunnel(socket, user);
    if (refusal !== undefined) exchange.refuseLimit(refusal);
    return refusal === undefined;
  };
  return { limiter, logger, records, metrics, connectAs, close, setLimits, admitTunnel };
}

/** Closes a connection on both ends, as the HTTP server does once the client has gone. */
async function closeAndSettle(connection: Connection): Promise<void> {
  const closed = once(connection.accepted, 'close');
  connection.client.destroy();
  connection.accepted.destroy();
  await closed;
}

describe('ConnectionLimiter: client connections', () => {
  let h: Awaited<ReturnType<typeof harness>>;
  before(async () => {
    h = await harness({ maxConnections: 3 });
  });
  after(() => h.close());

  test('admits up to maxConnections, then answers 503 with Retry-After and closes', async () => {
    const admitted = [await h.connectAs('10.0.0.1'), await h.connectAs('10.0.0.2'), await h.connectAs('10.0.0.3')];
    assert.deepEqual(admitted.map((c) => c.admitted), [true, true, true]);
    assert.equal(h.limiter.openConnections, 3);

    const refused = await h.connectAs('10.0.0.4');
    assert.equal(refused.admitted, false);
    const head = parseHead(Buffer.from(await refused.answer, 'latin1'));
    assert.equal(head.status, 503);
    assert.equal(head.headers['retry-after'], '5');
    assert.equal(head.headers.connection, 'close');
    assert.equal(h.limiter.openConnections, 3, 'a refused connection is not counted');

    const record = h.records.find((r) => r.event === 'limit-refused');
    assert.ok(record, 'the refusal is logged');
    assert.equal(record.eventId, 1400);
    assert.equal(record.reason, 'too-many-connections');
    assert.equal(record.status, 503);
    assert.equal(record.client, '10.0.0.4');
    assert.match(await h.metrics.expose(), /oms_gateway_rejections_total\{reason="too-many-connections"\} 1/);

    // A slot comes back when a counted socket closes.
    await closeAndSettle(admitted[0]!);
    assert.equal(h.limiter.openConnections, 2);
    const again = await h.connectAs('10.0.0.5');
    assert.equal(again.admitted, true);
  });
});

describe('ConnectionLimiter: per client address', () => {
  let h: Awaited<ReturnType<typeof harness>>;
  before(async () => {
    h = await harness({ maxConnections: 10, maxConnectionsPerClient: 2 });
  });
  after(() => h.close());

  test('answers 429 to a third connection from one address while other addresses are admitted', async () => {
    const first = await h.connectAs('192.0.2.7');
    assert.equal(first.admitted, true);
    assert.equal((await h.connectAs('192.0.2.7')).admitted, true);
    const third = await h.connectAs('192.0.2.7');
    assert.equal(third.admitted, false);
    const head = parseHead(Buffer.from(await third.answer, 'latin1'));
    assert.equal(head.status, 429);
    assert.equal(head.headers['retry-after'], '5');
    assert.equal((await h.connectAs('192.0.2.8')).admitted, true, 'another address has its own count');
    assert.equal(h.records.filter((r) => r.reason === 'client-connection-limit').length, 1);

    await closeAndSettle(first);
    assert.equal((await h.connectAs('192.0.2.7')).admitted, true, 'the address gets its slot back');
  });

  test('IPv6 clients are counted by their /64, as the auth throttle groups them (issue 16)', async () => {
    const first = await h.connectAs('2001:db8:1:2::1');
    assert.equal(first.admitted, true);
    assert.equal((await h.connectAs('2001:db8:1:2:ffff:ffff:ffff:fffe')).admitted, true);
    const third = await h.connectAs('2001:db8:1:2:aaaa::3');
    assert.equal(third.admitted, false, 'a third address of the same /64 is the same client');
    assert.equal(parseHead(Buffer.from(await third.answer, 'latin1')).status, 429);
    assert.equal((await h.connectAs('2001:db8:1:3::1')).admitted, true, 'the next /64 has its own count');
    await closeAndSettle(first);
    assert.equal((await h.connectAs('2001:db8:1:2::99')).admitted, true, 'the /64 gets its slot back');
  });

  test('0 means no per-address limit, and a changed limit applies to the next connection', async () => {
    h.setLimits({ maxConnectionsPerClient: 0 });
    for (let i = 0; i < 3; i++) assert.equal((await h.connectAs('192.0.2.9')).admitted, true);
  });
});

describe('ConnectionLimiter: tunnels per user', () => {
  let h: Awaited<ReturnType<typeof harness>>;
  before(async () => {
    h = await harness({ maxConnections: 20, maxTunnelsPerUser: 2 });
  });
  after(() => h.close());

  test('holds a slot while the client socket is open and answers 429 beyond the limit', async () => {
    const sockets = [await h.connectAs('10.1.0.1'), await h.connectAs('10.1.0.2'), await h.connectAs('10.1.0.3')];
    const [a, b, c] = sockets;
    assert.ok(a && b && c);
    assert.equal(h.admitTunnel(a.accepted, 'agent'), true);
    assert.equal(h.admitTunnel(b.accepted, 'agent'), true);
    assert.equal(h.admitTunnel(c.accepted, 'agent'), false);
    const head = parseHead(Buffer.from(await c.answer, 'latin1'));
    assert.equal(head.status, 429);
    const record = h.records.find((r) => r.reason === 'user-tunnel-limit');
    assert.equal(record?.target, 'x:443');
    assert.equal(record?.tunnels, 2);

    const other = await h.connectAs('10.1.0.4');
    assert.equal(h.admitTunnel(other.accepted, 'other-user'), true, 'each user has their own count');
    const anonymous = await h.connectAs('10.1.0.5');
    assert.equal(h.admitTunnel(anonymous.accepted, undefined), true, 'anonymous tunnels have no per-user limit');

    await closeAndSettle(a);
    const next = await h.connectAs('10.1.0.6');
    assert.equal(h.admitTunnel(next.accepted, 'agent'), true, 'a closed tunnel frees its slot');
  });
});

describe('ConnectionLimiter: descriptor ceiling', () => {
  test('a ceiling below maxConnections lowers the limit and says so once', async () => {
    const h = await harness({ maxConnections: 100 }, 2);
    try {
      assert.equal(h.limiter.maxConnections, 2);
      assert.equal((await h.connectAs('10.2.0.1')).admitted, true);
      assert.equal((await h.connectAs('10.2.0.2')).admitted, true);
      const refused = await h.connectAs('10.2.0.3');
      assert.equal(refused.admitted, false);
      assert.equal(parseHead(Buffer.from(await refused.answer, 'latin1')).status, 503);
      const lowered = h.records.filter((r) => r.event === 'connection-limit-lowered');
      assert.equal(lowered.length, 1);
      assert.equal(lowered[0]?.configured, 100);
      assert.equal(lowered[0]?.effective, 2);
      assert.match(await h.metrics.expose(), /oms_gateway_client_connections_limit 2/);
    } finally {
      await h.close();
    }
  });

  test('without a ceiling the configured maximum applies', async () => {
    const h = await harness({ maxConnections: 7 });
    try {
      assert.equal(h.limiter.maxConnections, 7);
      assert.equal(h.records.filter((r) => r.event === 'connection-limit-lowered').length, 0);
    } finally {
      await h.close();
    }
  });
});

describe('accept failures', () => {
  test('are logged at most once a second, not once per failure', async () => {
    const h = await harness();
    try {
      const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
      for (let i = 0; i < 50; i++) h.limiter.acceptFailed(emfile, '127.0.0.1:8080');
      const logged = h.records.filter((r) => r.event === 'accept-failed');
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.eventId, 1402);
      assert.equal(logged[0]?.code, 'EMFILE');
      assert.equal(logged[0]?.listener, '127.0.0.1:8080');
    } finally {
      await h.close();
    }
  });
});

describe('the limiter a listener is opened with', () => {
  test('counts every connection the listener accepts: over the limit it is refused and never reaches the HTTP server', async () => {
    const h = await harness({ maxConnections: 1 });
    const services = listenerServices({ limiter: h.limiter, logger: h.logger, metrics: h.metrics });
    const reached: Socket[] = [];
    services.http.on('connection', (socket: Socket) => reached.push(socket));
    const listener = await openListener({ host: '127.0.0.1', port: 0, optional: false }, services);
    const dial = (): { socket: Socket; answer: Promise<string> } => {
      const socket = connect({ host: '127.0.0.1', port: listener.port });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk)).on('error', () => undefined);
      return { socket, answer: once(socket, 'close').then(() => Buffer.concat(chunks).toString('latin1')) };
    };
    const first = dial();
    try {
      for (let i = 0; i < 100 && reached.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(reached.length, 1, 'the first connection reached the HTTP server');
      assert.equal(h.limiter.openConnections, 1);
      const refused = dial();
      assert.equal(parseHead(Buffer.from(await refused.answer, 'latin1')).status, 503);
      assert.equal(reached.length, 1, 'the refused connection reached the HTTP server');
      assert.equal(h.records.filter((r) => r.event === 'limit-refused').length, 1);
      listener.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
      assert.equal(h.records.filter((r) => r.event === 'accept-failed').length, 1);
    } finally {
      first.socket.destroy();
      for (const socket of reached) socket.destroy();
      await listener.close();
      await h.close();
    }
  });

  test('is required: a listener cannot be opened without one (a wiring mistake does not compile)', () => {
    const { limiter: _limiter, ...withoutLimiter } = listenerServices();
    // @ts-expect-error the limiter is a required collaborator of every listener
    const services: ListenerServices = withoutLimiter;
    assert.equal('limiter' in services, false);
  });
});
