import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/auth/password.js';
import { loadConfig, parseConfigText, redactConfig } from '../../src/config/load.js';

test('redaction replaces every password hash and keeps everything else', async () => {
  const hashes = [await hashPassword('first-secret'), await hashPassword('second-secret')];
  const text = [
    'auth:',
    '  mode: basic',
    '  users:',
    `    - { name: agent, passwordHash: "${hashes[0]}" }`,
    `    - { name: ops, passwordHash: "${hashes[1]}" }`,
    'resolve: ["a.example.com=127.0.0.1"]',
  ].join('\n');
  const config = parseConfigText(text, '/etc/oms-gateway/oms-gateway.yaml');
  const printed = JSON.stringify(redactConfig(config));

  for (const hash of hashes) assert.ok(!printed.includes(hash));
  assert.ok(!printed.includes('scrypt$'));
  const parsed: unknown = JSON.parse(printed);
  // Everything else is printed as it is, with undefined values shown as null.
  const plain = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value, (_key, v: unknown) => (v === undefined ? null : v))) as Record<string, unknown>;
  // The preset data is named by its version only (`oms-gateway presets show` shows the entries).
  const { presets, ...policy } = config.policy;
  assert.deepEqual(parsed, {
    ...plain(config),
    policy: { ...plain(policy), presetVersion: presets.version },
    auth: {
      ...plain(config.auth),
      users: [
        { name: 'agent', passwordHash: '[redacted]' },
        { name: 'ops', passwordHash: '[redacted]' },
      ],
    },
    resolve: [{ pattern: 'a.example.com', address: '127.0.0.1', port: null }],
    // The probe's CA certificates are shown by their file, never as PEM text.
    upstreamProbe: (({ ca: _pem, ...shown }) => shown)(plain(config.upstreamProbe)),
  });
  assert.equal(config.auth.users[0]?.passwordHash, hashes[0], 'the configuration itself is untouched');
});

test('values that are undefined are printed as null rather than dropped', () => {
  const printed = JSON.parse(JSON.stringify(redactConfig(loadConfig({ path: undefined })))) as Record<string, unknown>;
  assert.equal(printed['sourcePath'], null);
});
