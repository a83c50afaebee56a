// The fault backstop of network-facing event handlers: a throw or a rejection closes the connection the
// event was about, is logged as event 400 with its surface and counted; a handler that does not fail is
// left alone.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { shielded, type FaultSink } from '../../src/proxy/guard.js';

function sink(): { sink: FaultSink; lines: Record<string, unknown>[]; counted: () => number } {
  const lines: Record<string, unknown>[] = [];
  let errors = 0;
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { sink: { logger: pino(out), metrics: { internalError: () => void errors++ } }, lines, counted: () => errors };
}

function connection(): { destroy(): void; destroyed: boolean } {
  return {
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
  };
}

test('a synchronous throw destroys that connection only, and is logged and counted', async () => {
  const { sink: s, lines, counted } = sink();
  const [bad, good] = [connection(), connection()];
  const handler = shielded(s, 'tls-handshake', ([c]) => c, (c: ReturnType<typeof connection>) => {
    if (c === bad) throw new TypeError("Cannot read properties of undefined (reading 'split')");
  });
  handler(bad);
  handler(good);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(bad.destroyed, true);
  assert.equal(good.destroyed, false);
  assert.equal(counted(), 1);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.eventId, 400);
  assert.equal(lines[0]?.surface, 'tls-handshake');
});

test('a rejected promise is handled the same way', async () => {
  const { sink: s, lines, counted } = sink();
  const c = connection();
  shielded(s, 'accept', ([socket]) => socket, async (_socket: ReturnType<typeof connection>) => {
    await Promise.resolve();
    throw new Error('late');
  })(c);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(c.destroyed, true);
  assert.equal(counted(), 1);
  assert.equal(lines[0]?.surface, 'accept');
});
