// auth.usersFile: users kept apart from the configuration (a Kubernetes Secret beside a ConfigMap). The file
// is what `oms-gateway user add NAME --config FILE` writes; it is read with the configuration, at start and
// at every reload; every way it can be wrong is refused with the file, the key and the fix, never a hash.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../src/auth/password.js';
import { ConfigError, parseConfigText } from '../../src/config/load.js';
import { runCli } from '../fixtures/cli.js';
import { startGateway } from '../fixtures/gateway.js';
import { startTcpSink } from '../fixtures/origin.js';
import { connectStatus } from '../fixtures/raw-client.js';
import { basicCredentials } from '../fixtures/users.js';

const dir = mkdtempSync(join(tmpdir(), 'oms-gateway-users-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(text: string): string {
  files += 1;
  const path = join(dir, `users-${files}.yaml`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const hash = await hashPassword('correct horse');

function refusal(text: string): string {
  try {
    parseConfigText(text, 'main.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the configuration loaded, but it is invalid');
}

describe('auth.usersFile', () => {
  test('a file written by `oms-gateway user add` supplies the users of basic mode', async () => {
    const path = join(dir, 'from-cli.yaml');
    const added = await runCli(['user', 'add', 'agent', '--config', path], { input: 'pa55word' });
    assert.equal(added.code, 0, added.stderr);
    const config = parseConfigText(`auth:\n  mode: basic\n  usersFile: ${path}\n`, 'main.yaml');
    assert.deepEqual(config.auth.users.map((u) => u.name), ['agent']);
    assert.equal(config.auth.usersFile, path);
  });

  test('its users follow those of auth.users', () => {
    const path = file(`auth:\n  users:\n    - name: b\n      passwordHash: "${hash}"\n`);
    const config = parseConfigText(`auth:\n  users:\n    - name: a\n      passwordHash: "${hash}"\n  usersFile: ${path}\n`, 'main.yaml');
    assert.deepEqual(config.auth.users.map((u) => u.name), ['a', 'b']);
  });

  const invalid: { name: string; text: string | undefined; path?: string; message: RegExp }[] = [
    { name: 'a relative path', text: undefined, path: 'users.yaml', message: /auth\.usersFile: expected an absolute path/ },
    { name: 'a missing file', text: undefined, path: join(dir, 'nowhere.yaml'), message: /cannot read .*nowhere\.yaml \(ENOENT\)/ },
    { name: 'YAML that does not parse', text: 'auth: [\n', message: /users-\d+\.yaml: line \d+, YAML syntax/ },
    { name: 'another setting', text: 'listen: [0.0.0.0:8080]\nauth:\n  users: []\n', message: /listen: a users file holds auth\.users only/ },
    { name: 'another auth setting', text: 'auth:\n  realm: x\n  users: []\n', message: /auth\.realm: a users file holds auth\.users only/ },
    { name: 'no users key', text: 'auth: {}\n', message: /auth\.users: expected a list of users/ },
    { name: 'a bad hash', text: 'auth:\n  users:\n    - name: a\n      passwordHash: "scrypt$SECRETLOOKING"\n', message: /line 4, auth\.users\[0\]\.passwordHash: expected a hash written by `oms-gateway user add`/ },
    { name: 'a name twice', text: `auth:\n  users:\n    - {name: a, passwordHash: "${hash}"}\n    - {name: a, passwordHash: "${hash}"}\n`, message: /auth\.users\[1\]\.name: same name as an earlier user/ },
  ];
  for (const { name, text, path, message } of invalid) {
    test(`refuses ${name}, naming the file and the key`, () => {
      const target = path ?? file(text ?? '');
      const error = refusal(`auth:\n  usersFile: ${target}\n`);
      assert.match(error, message);
      assert.ok(!error.includes('SECRETLOOKING') && !error.includes(hash), 'no hash in the message');
    });
  }

  test('refuses a user in both places', () => {
    const path = file(`auth:\n  users:\n    - name: a\n      passwordHash: "${hash}"\n`);
    const error = refusal(`auth:\n  users:\n    - name: a\n      passwordHash: "${hash}"\n  usersFile: ${path}\n`);
    assert.match(error, /auth\.users\[0\]\.name: also in auth\.usersFile/);
  });

  test('a running gateway takes the users of the file at start and again on SIGHUP', async (t) => {
    const sink = await startTcpSink();
    t.after(() => sink.close());
    const path = file(`auth:\n  users:\n    - name: first\n      passwordHash: "${hash}"\n`);
    const gateway = await startGateway({
      args: ['--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${sink.port}`],
      configYaml: `workers: 1\nauth:\n  mode: basic\n  usersFile: ${path}\n`,
    });
    t.after(() => gateway.stop('SIGKILL'));
    const status = async (user: string): Promise<number> =>
      (await connectStatus(gateway.port, 'ws1.ods.opinsights.azure.com:443', { headers: { 'Proxy-Authorization': basicCredentials(user, 'correct horse') } })).status;
    assert.deepEqual([await status('first'), await status('second')], [200, 407]);

    writeFileSync(path, `auth:\n  users:\n    - name: second\n      passwordHash: "${hash}"\n`);
    const from = gateway.records.length;
    process.kill(gateway.pid, 'SIGHUP');
    await gateway.waitForRecord((r) => r.event === 'config-reloaded', 10_000, from);
    assert.deepEqual([await status('first'), await status('second')], [407, 200]);
  });
});
