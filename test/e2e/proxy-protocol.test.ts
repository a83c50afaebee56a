// PROXY protocol listeners on the real gateway: headers written byte by byte as a load balancer would, from a
// trusted and an untrusted source (the test client is always 127.0.0.1; what is trusted differs per gateway).

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { inet4, v1Header, v2Header } from '../fixtures/proxy-headers.js';
import { parseHead, rawExchange, type RawResult } from '../fixtures/raw-client.js';

const TARGET = 'ws1.ods.opinsights.azure.com:443';

function connectThen(payload: string): Buffer {
  return Buffer.from(`CONNECT ${TARGET} HTTP/1.1\r\nHost: ${TARGET}\r\n\r\n${payload}`, 'latin1');
}

/** IPv6 source `2001:db8::9`, as a v2 address block. */
function inet6Block(sourcePort: number): Buffer {
  const block = Buffer.alloc(36);
  block.writeUInt16BE(0x2001, 0);
  block.writeUInt16BE(0x0db8, 2);
  block.writeUInt16BE(9, 14);
  block.writeUInt16BE(1, 30);
  block.writeUInt16BE(sourcePort, 32);
  block.writeUInt16BE(8080, 34);
  return block;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The connection was closed without an answer and nothing reached the sink. */
function assertClosedSilently(result: RawResult, sink: TcpSink, before: number): void {
  assert.notEqual(result.ending, 'idle', 'the gateway kept the connection open');
  assert.equal(result.data.length, 0, `the gateway answered: ${result.text.slice(0, 80)}`);
  assert.equal(sink.connections, before, 'the sink saw a connection');
}

describe('PROXY protocol from a trusted load balancer (--proxy-protocol-from)', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    sink = await startTcpSink();
    gateway = await startGateway({
      args: ['--proxy-protocol-from', '127.0.0.1', '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${sink.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await sink?.close();
  });

  const cases: [string, () => Buffer, string, number][] = [
    ['v1 TCP4', () => Buffer.from(v1Header('203.0.113.9', 40001), 'latin1'), '203.0.113.9', 40001],
    ['v1 TCP6', () => Buffer.from(v1Header('2001:db8::9', 40002, '::1'), 'latin1'), '2001:db8::9', 40002],
    ['v2 TCP4', () => v2Header({ addresses: inet4('198.51.100.4', '10.0.0.1', 40003, 8080) }), '198.51.100.4', 40003],
    ['v2 TCP6', () => v2Header({ family: 0x21, addresses: inet6Block(40004) }), '2001:db8::9', 40004],
    ['v2 with TLVs', () => v2Header({ addresses: inet4('198.51.100.5', '10.0.0.1', 40005, 8080), tlvs: Buffer.from([0x05, 0, 2, 0x69, 0x64]) }), '198.51.100.5', 40005],
  ];
  for (const [title, header, client, clientPort] of cases) {
    // The CONNECT arrives in the same segment as the header: it is answered only if no byte after the header was lost.
    test(`${title}: the carried address is the client in the audit log`, async () => {
      const since = gateway.records.length;
      const result = await rawExchange(gateway.port, Buffer.concat([header(), connectThen('')]), { idleMs: 300 });
      assert.equal(parseHead(result.data).status, 200, result.text);
      const record = await gateway.waitForRecord(recordMatching({ event: 'request-allowed', target: TARGET, client }), 5000, since);
      assert.equal(record.clientPort, clientPort);
    });
  }

  test('v2 LOCAL (a health check): the balancer itself is the client', async () => {
    const since = gateway.records.length;
    const local = v2Header({ command: 0, family: 0, addresses: Buffer.alloc(0) });
    const result = await rawExchange(gateway.port, Buffer.concat([local, connectThen('')]), { idleMs: 300 });
    assert.equal(parseHead(result.data).status, 200);
    await gateway.waitForRecord(recordMatching({ event: 'request-allowed', client: '127.0.0.1' }), 5000, since);
  });

  test('no header from a trusted address (not required): its own address', async () => {
    const since = gateway.records.length;
    const result = await rawExchange(gateway.port, connectThen(''), { idleMs: 300 });
    assert.equal(parseHead(result.data).status, 200);
    await gateway.waitForRecord(recordMatching({ event: 'request-allowed', client: '127.0.0.1' }), 5000, since);
  });

  test('a header trickling in one byte at a time is read whole', async () => {
    const bytes = Buffer.concat([v2Header({ addresses: inet4('192.0.2.77', '10.0.0.1', 40077, 8080) }), connectThen('')]);
    const since = gateway.records.length;
    const socket = connect({ host: '127.0.0.1', port: gateway.port });
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    for (let i = 0; i < 40; i++) {
      socket.write(bytes.subarray(i, i + 1));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    socket.write(bytes.subarray(40));
    await gateway.waitForRecord(recordMatching({ event: 'request-allowed', client: '192.0.2.77' }), 5000, since);
    await waitFor(() => Buffer.concat(answer).includes('200'), 'the 200 answer');
    socket.destroy();
  });

  const refused: [string, () => Buffer, string][] = [
    ['a malformed v1 line', () => Buffer.from('PROXY TCP4 203.0.113.9 10.0.0.1 40001\r\n'), 'bad-v1-line'],
    ['a v1 line with a bad address', () => Buffer.from('PROXY TCP4 203.0.113.256 10.0.0.1 1 2\r\n'), 'bad-address'],
    ['an oversized v1 line', () => Buffer.from(`PROXY UNKNOWN ${'x'.repeat(120)}`), 'too-long'],
    ['an oversized v2 header', () => v2Header({ tlvs: Buffer.alloc(2000) }), 'too-long'],
    ['a v2 header of an unknown version', () => v2Header({ version: 3 }), 'bad-version'],
    ['a v2 header for UDP', () => v2Header({ family: 0x12 }), 'unsupported-family'],
  ];
  for (const [title, header, reason] of refused) {
    test(`closed: ${title} (${reason})`, async () => {
      const before = sink.connections;
      const since = gateway.records.length;
      const result = await rawExchange(gateway.port, Buffer.concat([header(), connectThen('')]));
      assertClosedSilently(result, sink, before);
      const record = await gateway.waitForRecord(recordMatching({ event: 'proxy-header-refused', reason }), 5000, since);
      assert.equal(record.eventId, 1102);
      assert.equal(record.client, '127.0.0.1');
    });
  }

  test('closed: a header cut short by the peer (truncated)', async () => {
    const before = sink.connections;
    const since = gateway.records.length;
    const result = await rawExchange(gateway.port, v2Header().subarray(0, 20), { endAfterWrite: true });
    assertClosedSilently(result, sink, before);
    await gateway.waitForRecord(recordMatching({ event: 'proxy-header-refused', reason: 'truncated' }), 5000, since);
  });

  test('a probe that connects and closes without a byte leaves no record', async () => {
    const since = gateway.records.length;
    await rawExchange(gateway.port, Buffer.alloc(0), { endAfterWrite: true, idleMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(gateway.records.slice(since).filter((r) => r.event === 'proxy-header-refused').length, 0);
  });
});

describe('PROXY protocol from an untrusted source, and required headers', () => {
  let sink: TcpSink;
  let untrusted: Gateway;
  let required: Gateway;
  before(async () => {
    sink = await startTcpSink();
    const resolve = ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${sink.port}`];
    [untrusted, required] = await Promise.all([
      startGateway({ listen: [], args: resolve, configYaml: 'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol:\n      trusted: [10.0.0.0/8]\n' }),
      startGateway({
        listen: [],
        args: resolve,
        configYaml: 'listen:\n  - address: 127.0.0.1:0\n    proxyProtocol:\n      trusted: [127.0.0.1]\n      required: true\n      headerTimeoutSeconds: 0.5\n',
      }),
    ]);
  });
  after(async () => {
    await Promise.all([untrusted?.stop(), required?.stop()]);
    await sink?.close();
  });

  for (const [version, header] of [['v1', () => Buffer.from(v1Header('203.0.113.9', 40001))], ['v2', () => v2Header()]] as const) {
    test(`a ${version} header from an untrusted address closes the connection; the socket address is logged`, async () => {
      const before = sink.connections;
      const since = untrusted.records.length;
      const result = await rawExchange(untrusted.port, Buffer.concat([header(), connectThen('')]));
      assertClosedSilently(result, sink, before);
      const record = await untrusted.waitForRecord(recordMatching({ event: 'proxy-header-refused', reason: 'untrusted-header' }), 5000, since);
      assert.equal(record.client, '127.0.0.1');
      assert.equal(untrusted.records.slice(since).some((r) => r.client === '203.0.113.9' || r.client === '192.0.2.7'), false);
    });
  }

  test('an untrusted client without a header is served as itself', async () => {
    const since = untrusted.records.length;
    const result = await rawExchange(untrusted.port, connectThen(''), { idleMs: 300 });
    assert.equal(parseHead(result.data).status, 200);
    await untrusted.waitForRecord(recordMatching({ event: 'request-allowed', client: '127.0.0.1' }), 5000, since);
  });

  test('required: a header from the trusted balancer is accepted', async () => {
    const since = required.records.length;
    const result = await rawExchange(required.port, Buffer.concat([v2Header(), connectThen('')]), { idleMs: 300 });
    assert.equal(parseHead(result.data).status, 200);
    await required.waitForRecord(recordMatching({ event: 'request-allowed', client: '192.0.2.7' }), 5000, since);
  });

  test('required: a connection without a header is closed', async () => {
    const before = sink.connections;
    const since = required.records.length;
    const result = await rawExchange(required.port, connectThen(''));
    assertClosedSilently(result, sink, before);
    await required.waitForRecord(recordMatching({ event: 'proxy-header-refused', reason: 'missing-header' }), 5000, since);
  });

  test('required: a header that never completes times out', async () => {
    const before = sink.connections;
    const since = required.records.length;
    const result = await rawExchange(required.port, v2Header().subarray(0, 14), { idleMs: 3000 });
    assertClosedSilently(result, sink, before);
    await required.waitForRecord(recordMatching({ event: 'proxy-header-refused', reason: 'timeout' }), 5000, since);
  });
});
