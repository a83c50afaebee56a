// `clients:` in the configuration file: each rule's ranges, authentication and presets, parsed once into
// the typed configuration, and the mistakes an operator can make, each refused with the key and the line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/password.js';
import { ConfigError } from '../../src/config/issues.js';
import { parseConfigText } from '../../src/config/load.js';

function issuesOf(text: string): { key: string; line: number | undefined; message: string }[] {
  try {
    parseConfigText(text, 'clients.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(({ key, line, message }) => ({ key, line, message }));
    throw err;
  }
  assert.fail('the file was accepted');
}

test('rules get a name, normalised ranges, an auth mode and, with agents, their own allowlist', async () => {
  const hash = await hashPassword('long-enough-password');
  const config = parseConfigText(
    [
      'auth:',
      '  mode: basic',
      `  users: [{name: agent, passwordHash: "${hash}"}]`,
      'allowedHosts: [ops.example.com]',
      'clients:',
      '  - name: arc-subnet',
      '    from: [10.20.0.0/16, "2001:DB8::/32"]',
      '    auth: anonymous',
      '    agents: [arc]',
      '  - from: 192.168.0.0/16',
      '    agents: ama',
    ].join('\n'),
    'clients.yaml',
  );
  const [arc, lab] = config.clients;
  assert.deepEqual({ name: arc?.name, from: arc?.from, auth: arc?.auth, agents: arc?.agents }, {
    name: 'arc-subnet',
    from: ['10.20.0.0/16', '2001:db8::/32'],
    auth: 'anonymous',
    agents: ['arc'],
  });
  const arcSources = new Set(arc?.allowlist?.map((entry) => entry.source));
  assert.deepEqual([...arcSources].sort(), ['operator', 'preset:arc:public']);
  // Unnamed rules are named by their first range; without auth they take auth.mode.
  assert.deepEqual({ name: lab?.name, auth: lab?.auth, agents: lab?.agents }, { name: '192.168.0.0/16', auth: 'basic', agents: ['ama'] });
});

test('no clients: the gateway settings apply to every source', () => {
  assert.deepEqual(parseConfigText('', 'clients.yaml').clients, []);
});

const refusals: readonly { name: string; text: string; key: string; message: RegExp }[] = [
  { name: 'a range with host bits', text: 'clients:\n  - from: 10.20.0.1/16\n    auth: anonymous', key: 'clients[0].from[0]', message: /host bits are set; use "10\.20\.0\.0\/16"/ },
  { name: 'a rule without ranges', text: 'clients:\n  - from: []\n    auth: anonymous', key: 'clients[0].from', message: /at least one address range/ },
  { name: 'a rule that changes nothing', text: 'clients:\n  - from: 10.0.0.0/8', key: 'clients[0]', message: /needs auth, agents or both/ },
  { name: 'an unknown auth mode', text: 'clients:\n  - from: 10.0.0.0/8\n    auth: ntlm', key: 'clients[0].auth', message: /anonymous, basic/ },
  { name: 'an unknown preset', text: 'clients:\n  - from: 10.0.0.0/8\n    agents: [scom]', key: 'clients[0].agents[0]', message: /legacy/ },
  { name: 'two rules with one name', text: 'clients:\n  - {name: a, from: 10.0.0.0/8, auth: basic}\n  - {name: a, from: 11.0.0.0/8, auth: basic}', key: 'clients[1].name', message: /same name as clients\[0\]/ },
  { name: 'basic for a source with no users', text: 'clients:\n  - from: 10.0.0.0/8\n    auth: basic', key: 'clients[0].auth', message: /basic needs at least one entry under auth\.users/ },
];

for (const { name, text, key, message } of refusals) {
  test(`refused: ${name}`, () => {
    const issues = issuesOf(text);
    const issue = issues.find((i) => i.key === key);
    assert.ok(issue !== undefined, `no issue for ${key}: ${JSON.stringify(issues)}`);
    assert.match(issue.message, message);
    assert.equal(typeof issue.line, 'number');
  });
}
