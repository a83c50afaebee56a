// The real client behind HAProxy: Debian's haproxy relays to the gateway with `send-proxy-v2` (and, on a
// second frontend, the v1 `send-proxy`), and the gateway's audit log must name the client that connected to
// HAProxy, not HAProxy itself. The client connects from 127.0.0.3, HAProxy from 127.0.0.1 (the trusted one).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { v2Header } from '../fixtures/proxy-headers.js';
import { parseHead, probeConnect } from '../fixtures/raw-client.js';
import { requireCommand } from '../fixtures/tools.js';

const CLIENT_ADDRESS = '127.0.0.3';
const TARGET = 'ws1.ods.opinsights.azure.com:443';

/** A port that was free a moment ago; HAProxy's configuration needs a number. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Sends CONNECT from CLIENT_ADDRESS to `port` (after `prefix`, if any); resolves with the answer's status. */
function connectFromClient(port: number, prefix: Buffer = Buffer.alloc(0)): Promise<number | 'closed'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: CLIENT_ADDRESS });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    }, 10_000);
    socket.on('connect', () => socket.write(Buffer.concat([prefix, Buffer.from(`CONNECT ${TARGET} HTTP/1.1\r\nHost: ${TARGET}\r\n\r\n`)])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.includes('\r\n\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(parseHead(received).status);
      }
    });
    const closed = (): void => {
      clearTimeout(timer);
      resolve('closed');
    };
    socket.on('end', closed);
    socket.on('error', closed);
  });
}

async function waitUntilListening(port: number, haproxy: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (haproxy.exitCode !== null) assert.fail(`haproxy exited with ${haproxy.exitCode}:\n${log()}`);
    if ((await probeConnect(port)) === 'connected') return;
    if (Date.now() > deadline) assert.fail(`haproxy did not listen on ${port}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('behind HAProxy', () => {
  let sink: TcpSink;
  let gateway: Gateway;
  let haproxy: ChildProcess | undefined;
  let dir: string;
  let v2Port: number;
  let v1Port: number;
  let haproxyLog = '';

  before(async () => {
    requireCommand('haproxy');
    sink = await startTcpSink();
    gateway = await startGateway({
      args: ['--proxy-protocol-from', '127.0.0.1', '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${sink.port}`],
    });
    [v2Port, v1Port] = [await freePort(), await freePort()];
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-haproxy-'));
    const config = join(dir, 'haproxy.cfg');
    await writeFile(config, [
      'global',
      '  maxconn 100',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend agents_v2',
      `  bind 127.0.0.1:${v2Port}`,
      '  default_backend gateway_v2',
      'frontend agents_v1',
      `  bind 127.0.0.1:${v1Port}`,
      '  default_backend gateway_v1',
      'backend gateway_v2',
      `  server gw 127.0.0.1:${gateway.port} send-proxy-v2`,
      'backend gateway_v1',
      `  server gw 127.0.0.1:${gateway.port} send-proxy`,
      '',
    ].join('\n'));
    haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout?.setEncoding('utf8').on('data', (s: string) => (haproxyLog += s));
    haproxy.stderr?.setEncoding('utf8').on('data', (s: string) => (haproxyLog += s));
    await waitUntilListening(v2Port, haproxy, () => haproxyLog);
    await waitUntilListening(v1Port, haproxy, () => haproxyLog);
  });

  after(async () => {
    if (haproxy !== undefined && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy?.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    await gateway?.stop();
    await sink?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const [line, port] of [['send-proxy-v2', () => v2Port], ['send-proxy', () => v1Port]] as const) {
    test(`${line}: the audit log shows the client behind HAProxy`, async () => {
      const since = gateway.records.length;
      assert.equal(await connectFromClient(port()), 200);
      const record = await gateway.waitForRecord(recordMatching({ event: 'request-allowed', target: TARGET }), 5000, since);
      assert.equal(record.client, CLIENT_ADDRESS);
    });
  }

  test('the same client connecting directly cannot claim another address', async () => {
    const since = gateway.records.length;
    assert.equal(await connectFromClient(gateway.port, v2Header()), 'closed');
    const record = await gateway.waitForRecord(recordMatching({ event: 'proxy-header-refused' }), 5000, since);
    assert.equal(record.reason, 'untrusted-header');
    assert.equal(record.client, CLIENT_ADDRESS);
  });
});
