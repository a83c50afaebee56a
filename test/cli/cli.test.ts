// The `oms-gateway` command as operators and their scripts use it: help, version, exit statuses,
// `config check`, `user add|remove|list` against real files, and `start` refusing bad input.
import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir } from '../fixtures/cli.js';

describe('oms-gateway command line', () => {
  test('--help lists the commands and exits 0', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['start', 'config check', 'user add']) assert.match(result.stdout, new RegExp(command));
  });

  test('each command has --help', async () => {
    for (const command of ['start', 'config', 'user']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, command);
      assert.match(result.stdout, /^Usage: oms-gateway/, command);
    }
    assert.match((await runCli(['start', '--help'])).stdout, /--listen HOST:PORT/);
  });

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), `oms-gateway ${pkg.version}`);
  });

  test('bad usage exits 2 with a message naming the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['start', '--no-such-flag'], /start: .*--no-such-flag/],
      [['start', '--listen', 'nonsense'], /--listen "nonsense": expected HOST:PORT/],
      [['start', '--auth', 'kerberos'], /--auth/],
      [['user', 'add'], /user add: give exactly one user NAME/],
      [['user'], /user: expected add, remove or list/],
      [['config'], /config: expected/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
    }
  });

  test('config check prints the effective configuration for the embedded default', async () => {
    const result = await runCli(['config', 'check', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const config = JSON.parse(result.stdout) as { listen: Array<{ port: number }>; policy: { allowlist: Array<{ pattern: string }> } };
    assert.ok(config.listen.every((l) => l.port === 8080));
    assert.ok(config.policy.allowlist.some((e) => e.pattern === '*.ods.opinsights.azure.com'));
  });

  test('config check reports every problem of a bad file with its line and exits 2', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'listen:\n  - 0.0.0.0:8080\nallowedHosts:\n  - "*.com"\ntimeouts:\n  conectSeconds: 5\n');
    const result = await runCli(['config', 'check', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${file}:4: allowedHosts\\[0\\]`));
    assert.match(result.stderr, new RegExp(`${file}:6: timeouts.conectSeconds: unknown key`));
  });

  test('start with a bad configuration exits 2 without listening', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'auth:\n  mode: basic\n');
    const result = await runCli(['start', '--config', file, '--listen', '127.0.0.1:0']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /auth/);
  });

  test('start on a port already in use exits 1 with the reason', async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const result = await runCli(['start', '--listen', `127.0.0.1:${port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /EADDRINUSE/);
  });

  describe('user add|remove|list', () => {
    test('user add creates a missing file with mode 0600, Basic auth and only a hash of the password', async (t) => {
      const dir = await tempDir(t);
      const file = join(dir, 'gateway.yaml');
      const result = await runCli(['user', 'add', 'agent', '--config', file], { input: 'S3cret:pass\n' });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /added user "agent"/);
      const text = await readFile(file, 'utf8');
      assert.ok(!text.includes('S3cret'), 'the password itself is never written');
      assert.match(text, /passwordHash: "?scrypt\$/);
      assert.match(text, /mode: basic/);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const check = await runCli(['config', 'check', file, '--json']);
      assert.equal(check.code, 0, check.stderr);
      assert.ok(!check.stdout.includes('scrypt$'), 'config check redacts hashes');
    });

    test('config check warns, on stderr, about a file with hashes that other users can read (issue 16)', async (t) => {
      const dir = await tempDir(t);
      const file = join(dir, 'gateway.yaml');
      assert.equal((await runCli(['user', 'add', 'agent', '--config', file], { input: 'S3cret:pass\n' })).code, 0);
      const quiet = await runCli(['config', 'check', file]);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stderr, /holds password hashes/);
      await chmod(file, 0o644);
      const warned = await runCli(['config', 'check', file]);
      assert.equal(warned.code, 0, 'a warning, not an error');
      assert.match(warned.stderr, new RegExp(`^warning: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} holds password hashes and can be read by other users \\(mode 0644\\): \`chmod 600 `, 'm'));
      assert.ok(!warned.stderr.includes('scrypt$'));
    });

    test('user add keeps comments and layout and replaces an existing password', async (t) => {
      const dir = await tempDir(t);
      const file = join(dir, 'gateway.yaml');
      await writeFile(file, '# operator notes: keep me\nlisten:\n  - 127.0.0.1:8080 # local only\n');
      const added = await runCli(['user', 'add', 'agent', '--config', file], { input: 'one' });
      assert.equal(added.code, 0);
      const first = await readFile(file, 'utf8');
      assert.match(first, /# operator notes: keep me/);
      assert.match(first, /# local only/);
      assert.doesNotMatch(first, /mode:/, "an existing file's auth mode is the operator's to change");
      assert.match(added.stderr, /auth.mode is "anonymous"/);
      const again = await runCli(['user', 'add', 'agent', '--config', file], { input: 'two' });
      assert.match(again.stdout, /updated user "agent"/);
      const second = await readFile(file, 'utf8');
      assert.equal(second.match(/name: agent/g)?.length, 1);
      assert.notEqual(first, second, 'a new hash was written');
    });

    test('user add warns when the Linux agent cannot use the password', async (t) => {
      const dir = await tempDir(t);
      const result = await runCli(['user', 'add', 'agent', '--config', join(dir, 'g.yaml')], { input: 'pa@ss' });
      assert.equal(result.code, 0);
      assert.match(result.stderr, /Linux agent.*"@"/);
    });

    test('user add refuses an empty password and a file that would become invalid, changing nothing', async (t) => {
      const dir = await tempDir(t);
      const file = join(dir, 'gateway.yaml');
      assert.equal((await runCli(['user', 'add', 'agent', '--config', file], { input: '\n' })).code, 2);
      const broken = 'listen:\n  - 127.0.0.1:8080\nbogusKey: 1\n';
      await writeFile(file, broken);
      const result = await runCli(['user', 'add', 'agent', '--config', file], { input: 'pw' });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /bogusKey: unknown key/);
      assert.equal(await readFile(file, 'utf8'), broken);
    });

    test('user list and user remove', async (t) => {
      const dir = await tempDir(t);
      const file = join(dir, 'gateway.yaml');
      for (const name of ['alice', 'bob@example.com', 'zoë']) {
        assert.equal((await runCli(['user', 'add', name, '--config', file], { input: 'pw' })).code, 0);
      }
      const listed = await runCli(['user', 'list', '--config', file, '--json']);
      assert.deepEqual(JSON.parse(listed.stdout), { mode: 'basic', users: ['alice', 'bob@example.com', 'zoë'] });
      assert.equal((await runCli(['user', 'remove', 'bob@example.com', '--config', file])).code, 0);
      const table = await runCli(['user', 'list'], { env: { OMS_GATEWAY_CONFIG: file } });
      assert.match(table.stdout, /alice/);
      assert.doesNotMatch(table.stdout, /bob/);
      const missing = await runCli(['user', 'remove', 'nobody', '--config', file]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no user "nobody"/);
    });
  });
});
