import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListenerConfig } from '../../src/config/types.js';
import { closeListeners, openListeners, planListeners, replaceListeners } from '../../src/proxy/rebind.js';
import { listenerServices } from '../fixtures/listener-services.js';
import { probeConnect } from '../fixtures/raw-client.js';

function listener(port: number, extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return { host: '127.0.0.1', port, optional: false, ...extra };
}

test('planListeners keeps unchanged listeners, adds new ones, replaces changed options, drops the rest', async (t) => {
  const services = listenerServices();
  const [a, b, c] = await openListeners([listener(0), listener(0), listener(0)], services);
  assert.ok(a && b && c);
  t.after(() => closeListeners([a, b, c]));
  const fixedA = listener(a.port);
  const [boundA] = await openListeners([fixedA], services).catch(() => []);
  assert.equal(boundA, undefined, 'a port in use was bound twice');

  // Port 0 entries pair with bound port-0 listeners one for one, in order.
  const same = planListeners([a, b, c], [listener(0), listener(0), listener(0)]);
  assert.deepEqual([same.keep.length, same.add.length, same.replace.length, same.drop.length], [3, 0, 0, 0]);

  const fewer = planListeners([a, b, c], [listener(0)]);
  assert.deepEqual([fewer.keep, fewer.drop], [[a], [b, c]]);

  const changed = planListeners([a], [listener(0, { proxyProtocol: { trusted: ['10.0.0.0/8'], required: false, headerTimeoutSeconds: 5, maxHeaderBytes: 1024 } }), listener(0, { host: '::1' })]);
  assert.deepEqual(changed.keep, []);
  assert.equal(changed.replace.length, 1);
  assert.equal(changed.replace[0]?.old, a);
  assert.deepEqual(changed.add.map((l) => l.host), ['::1']);
});

test('replaceListeners closes the old listener and binds the new settings on the same address', async (t) => {
  const services = listenerServices();
  const [probe] = await openListeners([listener(0)], services);
  assert.ok(probe);
  const port = probe.port;
  await closeListeners([probe]);
  const [old] = await openListeners([listener(port)], services);
  assert.ok(old);
  const replacement = listener(port, { proxyProtocol: { trusted: ['127.0.0.1/32'], required: false, headerTimeoutSeconds: 5, maxHeaderBytes: 1024 } });
  const plan = planListeners([old], [replacement]);
  const [bound] = await replaceListeners(plan.replace, services);
  assert.ok(bound);
  t.after(() => closeListeners([bound]));
  assert.equal(bound.port, port);
  assert.equal(await probeConnect(port), 'connected');
  assert.equal(old.server.listening, false);
});
