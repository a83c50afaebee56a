// `config get|set|unset` against temporary files: values from the file or their defaults, edits that keep
// comments, refuse invalid results without touching the file, and replace the file atomically.

import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runCli, tempDir } from '../fixtures/cli.js';

const FILE = `# operator's header comment
timeouts:
  connectSeconds: 10 # agreed with the network team
log:
  level: info
`;

async function configFile(t: TestContext, text = FILE): Promise<string> {
  const path = join(await tempDir(t), 'gateway.yaml');
  await writeFile(path, text, { mode: 0o644 });
  return path;
}

describe('config get', () => {
  test('a key set in the file, a default, a list, and every key with its source', async (t) => {
    const path = await configFile(t);
    assert.equal((await runCli(['config', 'get', 'timeouts.connectSeconds', '--config', path])).stdout, '10\n');
    assert.equal((await runCli(['config', 'get', 'timeouts.shutdownGraceSeconds', '--config', path])).stdout, '30\n');
    assert.equal((await runCli(['config', 'get', 'listen', '--config', path])).stdout, '0.0.0.0:8080\n[::]:8080\n');
    const json = JSON.parse((await runCli(['config', 'get', 'timeouts.connectSeconds', '--config', path, '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual(json, { file: path, key: 'timeouts.connectSeconds', value: 10, source: 'file' });
    const all = await runCli(['config', 'get', '--config', path]);
    assert.match(all.stdout, /^timeouts\.connectSeconds\s+10\s+file$/m);
    assert.match(all.stdout, /^timeouts\.requestHeadSeconds\s+30\s+default$/m);
  });

  test('secrets are redacted', async (t) => {
    const path = await configFile(t, 'relayProxy:\n  url: http://proxy.corp.example:3128\n  username: relay\n  password: relay-secret\n');
    const result = await runCli(['config', 'get', 'relayProxy.password', '--config', path]);
    assert.equal(result.stdout, '[redacted]\n');
    assert.ok(!(await runCli(['config', 'get', '--config', path, '--json'])).stdout.includes('relay-secret'));
  });

  test('an unknown key is a usage error', async (t) => {
    const result = await runCli(['config', 'get', 'timeouts.connect', '--config', await configFile(t)]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown key "timeouts\.connect"/);
  });
});

describe('config set and unset', () => {
  test('set changes the value in place, keeping every comment, and replaces the file atomically', async (t) => {
    const path = await configFile(t);
    const before = await stat(path);
    const result = await runCli(['config', 'set', 'timeouts.connectSeconds', '5', '--config', path]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /set timeouts\.connectSeconds = 5/);
    assert.match(result.stdout, /no pid file is configured/);
    const text = await readFile(path, 'utf8');
    assert.equal(text, FILE.replace('connectSeconds: 10', 'connectSeconds: 5'));
    const after = await stat(path);
    assert.notEqual(after.ino, before.ino, 'the file was rewritten in place instead of renamed over');
    assert.equal(after.mode & 0o777, 0o644);
    assert.deepEqual(await readdir(join(path, '..')), ['gateway.yaml'], 'a temporary file was left behind');
  });

  test('a single value for a list key becomes a one-item list; a new key is added', async (t) => {
    const path = await configFile(t);
    const listen = await runCli(['config', 'set', 'listen', '127.0.0.1:8080', '--config', path]);
    assert.equal(listen.code, 0, listen.stderr);
    assert.equal((await runCli(['config', 'set', 'cloud', '[public, usgov]', '--config', path])).code, 0);
    assert.equal((await runCli(['config', 'get', 'listen', '--config', path])).stdout, '127.0.0.1:8080\n');
    assert.equal((await runCli(['config', 'get', 'cloud', '--config', path])).stdout, 'public\nusgov\n');
    assert.match(await readFile(path, 'utf8'), /^# operator's header comment/);
  });

  const refused: readonly { name: string; args: string[]; message: RegExp }[] = [
    { name: 'an out-of-range value', args: ['timeouts.connectSeconds', '0'], message: /gateway\.yaml \(not changed: the edit would make it invalid\): timeouts\.connectSeconds: expected a number of seconds greater than 0/ },
    { name: 'a wrong type', args: ['watch', 'sometimes'], message: /watch: expected true or false/ },
    { name: 'a password on the command line', args: ['relayProxy.password', 'x'], message: /visible in `ps`/ },
    { name: 'users, which have their own command', args: ['auth.users', '[]'], message: /oms-gateway user add/ },
    { name: 'a group of settings', args: ['timeouts', '{}'], message: /set them one by one/ },
    { name: 'an unknown key', args: ['timeout.connectSeconds', '5'], message: /unknown key/ },
  ];
  for (const { name, args, message } of refused) {
    test(`refuses ${name} and leaves the file as it was`, async (t) => {
      const path = await configFile(t);
      const result = await runCli(['config', 'set', ...args, '--config', path]);
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, message);
      assert.equal(await readFile(path, 'utf8'), FILE);
    });
  }

  test('unset removes the key (back to the default); unsetting an absent key changes nothing', async (t) => {
    const path = await configFile(t);
    const removed = await runCli(['config', 'unset', 'timeouts.connectSeconds', '--config', path, '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((JSON.parse(removed.stdout) as { changed: boolean }).changed, true);
    assert.equal((await runCli(['config', 'get', 'timeouts.connectSeconds', '--config', path])).stdout, '10\n');
    assert.doesNotMatch(await readFile(path, 'utf8'), /connectSeconds/);
    const again = await runCli(['config', 'unset', 'timeouts.connectSeconds', '--config', path]);
    assert.match(again.stdout, /not set .* already has its default/);
  });

  test('an edit needs a file: without --config or OMS_GATEWAY_CONFIG it is a usage error', async () => {
    const result = await runCli(['config', 'set', 'watch', 'true']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /no configuration file/);
  });
});
