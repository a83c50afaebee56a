// The request-head timeout on a kept-alive connection (the gateway times heads itself:
// proxy/client-connections.ts): between requests the connection is idle and untimed, and the next head,
// sent a byte at a time, is cut at requestHeadSeconds with the table's 408 before it is complete.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startHttpOrigin, type HttpOrigin } from '../fixtures/origin.js';
import { assertTableAnswer } from '../fixtures/refusal.js';

const HOST = 'keepalive.example.test';

describe('a later head on a kept-alive connection', () => {
  let origin: HttpOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startHttpOrigin();
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\ntimeouts:\n  requestHeadSeconds: 1\n',
      args: ['--allow-host', `${HOST}:80`, '--resolve', `${HOST}=127.0.0.1:${origin.port}`],
    });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
  });

  test('idle after an answer is not cut; sent a byte at a time it is cut with 408 before it is complete', async () => {
    const socket = connect({ host: '127.0.0.1', port: gateway.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let received = Buffer.alloc(0);
    let closed = false;
    socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
    socket.once('close', () => (closed = true));
    try {
      socket.write(`GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      for (let i = 0; i < 100 && !received.includes(HELLO_BODY); i++) await sleep(50);
      assert.ok(received.includes(HELLO_BODY), 'the first request was answered');
      const answered = received.length;

      // Longer than requestHeadSeconds with no byte: an idle connection is left to the keep-alive timeout.
      await sleep(1600);
      assert.equal(closed, false, 'an idle kept-alive connection was cut by the head timeout');

      const second = `GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: ${'z'.repeat(100)}\r\n\r\n`;
      let sent = 0;
      for (; sent < second.length && !closed; sent++) {
        socket.write(second[sent] ?? '');
        await sleep(100);
      }
      assert.ok(sent < second.length, 'the whole head was sent: nothing cut it');
      assertTableAnswer(received.subarray(answered), 'request-timeout');
      assert.equal(origin.requests.length, 1, 'the cut head reached the origin');
    } finally {
      socket.destroy();
    }
  });
});
