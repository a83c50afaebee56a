// Credentials that slip into a log record are replaced before it is written, wherever they sit, and the
// caller's objects are left as they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CENSORED, censorCredentials } from '../../src/observability/censor.js';

test('a record without credentials is passed on as it is, not copied', () => {
  const record = { event: 'request-allowed', client: '127.0.0.1', resolved: ['127.0.0.1'], headers: { host: 'x' } };
  assert.equal(censorCredentials(record), record);
});

test('passwords and hashes are censored at the top, in objects and in arrays of objects', () => {
  const record = { password: 'p1', user: { name: 'agent', passwordHash: 'h1' }, users: [{ name: 'a', passwordHash: 'h2' }, { name: 'b' }] };
  assert.deepEqual(censorCredentials(record), {
    password: CENSORED,
    user: { name: 'agent', passwordHash: CENSORED },
    users: [{ name: 'a', passwordHash: CENSORED }, { name: 'b' }],
  });
});

test('credential headers are censored under any headers object, in any letter case; other headers stay', () => {
  const record = { headers: { Authorization: 'Basic a', host: 'kept' }, req: { headers: { 'proxy-authorization': 'Basic b', 'user-agent': 'curl' } } };
  assert.deepEqual(censorCredentials(record), {
    headers: { Authorization: CENSORED, host: 'kept' },
    req: { headers: { 'proxy-authorization': CENSORED, 'user-agent': 'curl' } },
  });
  // Outside a headers object the name is only a name.
  assert.deepEqual(censorCredentials({ authorization: 'not a header' }), { authorization: 'not a header' });
});

test("the caller's objects are not changed", () => {
  const inner = { password: 'p' };
  const record = { relayProxy: inner };
  const censored = censorCredentials(record);
  assert.equal(inner.password, 'p');
  assert.equal(record.relayProxy, inner);
  assert.deepEqual(censored, { relayProxy: { password: CENSORED } });
});

test('an Error with a credential property keeps its class, message and stack; a read-only property is censored too', () => {
  const err = Object.assign(new TypeError('dial failed'), { code: 'EX' });
  Object.defineProperty(err, 'password', { value: 'p', enumerable: true, writable: false });
  const censored = censorCredentials({ err }).err;
  assert.ok(censored instanceof TypeError);
  assert.equal(censored.message, 'dial failed');
  assert.equal(censored.stack, err.stack);
  assert.equal((censored as unknown as Record<string, unknown>).password, CENSORED);
  assert.equal((censored as unknown as Record<string, unknown>).code, 'EX');
});

test('bytes are not walked and a cyclic value ends the walk', () => {
  const bytes = Buffer.from('password');
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const record = { bytes, cyclic };
  assert.equal(censorCredentials(record), record);
  const deep = { a: { b: { c: { d: { password: 'p' } } } } };
  assert.deepEqual(censorCredentials(deep), { a: { b: { c: { d: { password: CENSORED } } } } });
});
