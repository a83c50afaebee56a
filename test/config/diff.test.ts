import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/password.js';
import { diffConfigs } from '../../src/config/diff.js';
import { parseConfigText } from '../../src/config/load.js';

const HASH_A = await hashPassword('password-a');
const HASH_B = await hashPassword('password-b');

function config(text: string) {
  return parseConfigText(text, '/etc/oms-gateway/oms-gateway.yaml');
}

test('an unchanged file has no changes', () => {
  assert.deepEqual(diffConfigs(config('allowedHosts: [a.example.com]\n'), config('allowedHosts: [a.example.com]\n')), []);
});

test('scalars are reported from → to, list items as added and removed', () => {
  const changes = diffConfigs(
    config('timeouts:\n  connectSeconds: 10\nallowedHosts: [a.example.com, b.example.com]\n'),
    config('timeouts:\n  connectSeconds: 5\nallowedHosts: [a.example.com, c.example.com:8443]\n'),
  );
  assert.deepEqual(changes.find((c) => c.key === 'timeouts.connectSeconds'), { key: 'timeouts.connectSeconds', from: 10, to: 5 });
  const allowlist = changes.find((c) => c.key === 'policy.allowlist');
  assert.deepEqual(allowlist?.added, [{ pattern: 'c.example.com', ports: [8443], source: 'operator' }]);
  assert.deepEqual(allowlist?.removed, [{ pattern: 'b.example.com', ports: [443], source: 'operator' }]);
});

test('users: added and removed by name, a changed password by name only; hashes never appear', () => {
  const before = config(`auth:\n  mode: basic\n  users:\n    - {name: alice, passwordHash: "${HASH_A}"}\n    - {name: bob, passwordHash: "${HASH_A}"}\n`);
  const after = config(`auth:\n  mode: basic\n  users:\n    - {name: alice, passwordHash: "${HASH_B}"}\n    - {name: carol, passwordHash: "${HASH_A}"}\n`);
  const changes = diffConfigs(before, after);
  const text = JSON.stringify(changes);
  assert.ok(!text.includes(HASH_A.slice(-20)) && !text.includes(HASH_B.slice(-20)), text);
  const users = changes.filter((c) => c.key === 'auth.users');
  assert.deepEqual(users.find((c) => c.added !== undefined)?.added, [{ name: 'carol', passwordHash: '[redacted]' }]);
  assert.deepEqual(users.find((c) => c.removed !== undefined)?.removed, [{ name: 'bob', passwordHash: '[redacted]' }]);
  assert.deepEqual(users.find((c) => c.passwordChanged !== undefined)?.passwordChanged, ['alice']);
});

test('the relay password: a change is reported, its value never', () => {
  const relay = (password: string): string => `relayProxy:\n  url: http://proxy.corp.example:3128\n  username: relay\n  password: ${password}\n`;
  const changes = diffConfigs(config(relay('old-secret')), config(relay('new-secret')));
  assert.deepEqual(changes, [{ key: 'relayProxy.password', from: '[redacted]', to: '[redacted]' }]);
  const added = diffConfigs(config(''), config(relay('new-secret')));
  assert.equal(added[0]?.key, 'relayProxy');
  assert.ok(!JSON.stringify(added).includes('new-secret'));
});
