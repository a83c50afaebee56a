// Dial failures the error table names and no other test reaches: a target address the kernel has no route
// for (network-error, 502), and no descriptor left for the dial (out-of-resources, 503). Each answer is the
// table's, and the refusal is recorded with its code.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { assertTableAnswer } from '../fixtures/refusal.js';

describe('a target address the kernel cannot route to', () => {
  let gateway: Gateway;
  before(async () => {
    // An operator mapping to the limited broadcast address: Linux refuses a TCP connect to it (ENETUNREACH)
    // at once, neither a refusal by the target nor a timeout.
    gateway = await startGateway({
      configYaml: 'workers: 1\ndeniedAddresses: []\ninspection:\n  enabled: false\n',
      args: ['--allow-host', 'unroutable.example', '--resolve', 'unroutable.example=255.255.255.255:443'],
    });
  });
  after(() => gateway.stop());

  test('is answered network-error (502)', async () => {
    const since = gateway.records.length;
    const head = await connectStatus(gateway.port, 'unroutable.example:443');
    assertTableAnswer(head, 'network-error');
    const record = await gateway.waitForRecord((r) => r.event === 'upstream-error', 5000, since);
    assert.deepEqual([record.target, record.reason, record.status], ['unroutable.example:443', 'network-error', 502]);
  });
});

describe('no descriptor left for the dial', () => {
  /** Low enough to exhaust quickly, high enough for Node to load the gateway's modules. */
  const FD_LIMIT = 128;
  let sink: TcpSink;
  let gateway: Gateway;
  const held: Socket[] = [];
  before(async () => {
    sink = await startTcpSink();
    gateway = await startGateway({
      launcher: ['sh', '-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`],
      configYaml: 'workers: 1\ninspection:\n  enabled: false\nlimits:\n  maxConnectionsPerClient: 0\n',
      args: ['--allow-host', 'sink.example', '--resolve', `sink.example=127.0.0.1:${sink.port}`],
    });
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await gateway.stop();
    await sink.close();
  });

  test('is answered out-of-resources (503), and nothing is dialled', async () => {
    // The metrics listener counts against no connection limit: idle connections to it take every descriptor
    // the gateway has (the ones it cannot take are closed at once by libuv).
    const url = new URL(gateway.metricsBaseUrl ?? assert.fail('no metrics listener'));
    const open = Array.from({ length: FD_LIMIT * 2 }, () => {
      const socket = connect({ host: url.hostname, port: Number(url.port) }).on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      return { socket, closed };
    });
    await sleep(1000);
    const states = await Promise.all(open.map(async ({ socket, closed }) => ((await Promise.race([closed.then(() => true), sleep(0).then(() => false)])) ? undefined : socket)));
    const alive = states.filter((socket): socket is Socket => socket !== undefined);
    held.push(...alive);
    assert.ok(alive.length < open.length, 'the descriptors were never exhausted');
    // One descriptor free again: enough to accept a proxy client, none left to dial its target.
    alive.pop()?.destroy();
    await sleep(500);
    const since = gateway.records.length;
    const head = await connectStatus(gateway.port, 'sink.example:443');
    assertTableAnswer(head, 'out-of-resources');
    assert.equal(sink.connections, 0);
    const record = await gateway.waitForRecord((r) => r.event === 'upstream-error', 5000, since);
    assert.deepEqual([record.target, record.reason, record.status], ['sink.example:443', 'out-of-resources', 503]);
  });
});
