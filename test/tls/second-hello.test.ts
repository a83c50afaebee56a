// Issue 16 item 10: only the first ClientHello was checked, so a second one in a later segment, naming
// another host, reached the target. The inspection now follows the client's plaintext handshake to its end
// and judges every ClientHello alike: a TLS 1.3 client's second ClientHello after a HelloRetryRequest
// (RFC 8446 §4.1.2) passes when it names the same host, and any other is refused before the target sees it.

import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { clientHelloMessage, records, serverHelloMessage, TLS12, TLS13 } from '../fixtures/tls-records.js';

const DOMAIN = 'ods.opinsights.azure.com';
const OTHER = 'elsewhere.example';
const CHANGE_CIPHER_SPEC = Buffer.from([20, 3, 3, 0, 1, 1]);
const ENCRYPTED = Buffer.from([23, 3, 3, 0, 3, 1, 2, 3]);

/** A target that records every byte it receives and answers the first ones with a ServerHello (a HelloRetryRequest stand-in). */
interface Target {
  readonly port: number;
  received(): Buffer;
  close(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('data', () => socket.write(records(serverHelloMessage(TLS13), 16_384)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5000) assert.fail(`${what} within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function hello(serverName: string): Buffer {
  return records(clientHelloMessage({ serverName, versions: [TLS13, TLS12] }), 16_384);
}

describe('a second ClientHello in the same tunnel', () => {
  let target: Target;
  let gateway: Gateway;
  before(async () => {
    target = await startTarget();
    gateway = await startGateway({
      configYaml: 'workers: 1\nlimits: {maxConnectionsPerClient: 0}\n',
      args: ['--resolve', `*.${DOMAIN}=127.0.0.1:${target.port}`],
    });
  });
  after(async () => {
    await gateway?.stop();
    await target?.close();
  });

  for (const [name, retry] of [
    ['in a later segment', false],
    ['after the server asked for a retry, following a ChangeCipherSpec', true],
  ] as const) {
    test(`${name}, naming another host: refused (sni-mismatch) and never sent to the target`, async () => {
      const host = `second-${retry ? 'retry' : 'plain'}.${DOMAIN}`;
      const since = gateway.records.length;
      const before = target.received().length;
      const { socket } = await openTunnel(gateway.port, `${host}:443`);
      socket.on('error', () => undefined);
      const answer: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => answer.push(chunk)).resume();
      socket.write(hello(host));
      await until(() => target.received().length > before, 'the first ClientHello reaches the target');
      if (retry) await until(() => answer.length > 0, "the target's ServerHello reaches the client");
      socket.write(Buffer.concat([retry ? CHANGE_CIPHER_SPEC : Buffer.alloc(0), hello(OTHER)]));
      const record = await gateway.waitForRecord(recordMatching({ event: 'request-denied', reason: 'sni-mismatch', target: `${host}:443` }), 5000, since);
      assert.equal(record.sni, OTHER);
      await new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)));
      assert.ok(!target.received().includes(OTHER), 'the second ClientHello reached the target');
    });
  }

  test('after the server asked for a retry, a second ClientHello naming the same host passes, and the session carries on', async () => {
    const host = `retry-same.${DOMAIN}`;
    const since = gateway.records.length;
    const before = target.received().length;
    const { socket } = await openTunnel(gateway.port, `${host}:443`);
    const answer: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => answer.push(chunk)).resume();
    socket.write(hello(host));
    await until(() => answer.length > 0, "the target's ServerHello reaches the client");
    const second = hello(host);
    socket.write(Buffer.concat([CHANGE_CIPHER_SPEC, second]));
    await until(() => target.received().length >= before + 2 * second.length + CHANGE_CIPHER_SPEC.length, 'the second ClientHello reaches the target');
    socket.write(ENCRYPTED);
    const verified = await gateway.waitForRecord(recordMatching({ event: 'tls-verified', target: `${host}:443` }), 5000, since);
    assert.equal(verified.sni, host);
    await until(() => target.received().includes(ENCRYPTED), 'the encrypted record reaches the target');
    socket.destroy();
  });
});
