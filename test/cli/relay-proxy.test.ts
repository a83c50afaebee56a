// `relay-proxy set|get|clear` (Get-/Set-OMSGatewayRelayProxy) and the additions to `user add|remove`
// (--json, warnings for the Linux agent) against temporary files.

import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { runCli, tempDir } from '../fixtures/cli.js';

const FILE = '# site B\nlog:\n  level: info\n';
const SECRET = 'relay-Secret-42';

async function configFile(t: TestContext): Promise<string> {
  const path = join(await tempDir(t), 'gateway.yaml');
  await writeFile(path, FILE, { mode: 0o644 });
  return path;
}

describe('relay-proxy', () => {
  test('set with credentials stores the password in a file of mode 0600; get never shows it', async (t) => {
    const path = await configFile(t);
    const set = await runCli(['relay-proxy', 'set', 'http://Proxy.Corp.Example:3128/', '--username', 'relay', '--password-stdin', '--bypass', '*.internal.example', '--config', path], { input: `${SECRET}\n` });
    assert.equal(set.code, 0, set.stderr);
    assert.ok(!set.stdout.includes(SECRET));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const stored = parse(await readFile(path, 'utf8')) as { relayProxy: Record<string, unknown> };
    assert.deepEqual(stored.relayProxy, { url: 'http://proxy.corp.example:3128', username: 'relay', password: SECRET, bypass: ['*.internal.example'] });
    assert.match(await readFile(path, 'utf8'), /^# site B/);

    const shown = await runCli(['relay-proxy', 'get', '--config', path]);
    assert.match(shown.stdout, /url\s+http:\/\/proxy\.corp\.example:3128/);
    assert.match(shown.stdout, /password\s+stored/);
    const json = await runCli(['relay-proxy', 'get', '--config', path, '--json']);
    assert.deepEqual(JSON.parse(json.stdout), {
      configured: true, url: 'http://proxy.corp.example:3128', username: 'relay', password: 'stored', bypass: ['*.internal.example'], caFile: null,
    });
    for (const output of [shown.stdout, json.stdout, (await runCli(['config', 'check', path])).stdout]) assert.ok(!output.includes(SECRET));
  });

  test('set without --username drops stored credentials and keeps the bypass list; clear removes the relay', async (t) => {
    const path = await configFile(t);
    await runCli(['relay-proxy', 'set', 'http://proxy.corp.example:3128', '--username', 'relay', '--password-stdin', '--bypass', 'a.example.com', '--config', path], { input: SECRET });
    assert.equal((await runCli(['relay-proxy', 'set', 'https://proxy2.corp.example:8443', '--config', path])).code, 0);
    const stored = parse(await readFile(path, 'utf8')) as { relayProxy: Record<string, unknown> };
    assert.deepEqual(stored.relayProxy, { url: 'https://proxy2.corp.example:8443', bypass: ['a.example.com'] });
    const cleared = await runCli(['relay-proxy', 'clear', '--config', path]);
    assert.match(cleared.stdout, /tunnels go directly/);
    assert.equal((parse(await readFile(path, 'utf8')) as Record<string, unknown>).relayProxy, undefined);
    assert.match((await runCli(['relay-proxy', 'get', '--config', path])).stdout, /no relay proxy/);
  });

  const refused: readonly { name: string; args: string[]; input?: string; message: RegExp }[] = [
    { name: 'a URL without a port', args: ['http://proxy.corp.example'], message: /the port is required/ },
    { name: 'a URL with credentials in it', args: ['http://u:p@proxy.corp.example:3128'], message: /no user or password in the URL/ },
    { name: 'another scheme', args: ['socks5://proxy.corp.example:1080'], message: /http:\/\/ or https:\/\// },
    { name: '--password-stdin without --username', args: ['http://proxy.corp.example:3128', '--password-stdin'], input: 'x', message: /needs --username/ },
    { name: '--username without a password source', args: ['http://proxy.corp.example:3128', '--username', 'relay'], message: /--password-stdin/ },
    { name: 'an empty password', args: ['http://proxy.corp.example:3128', '--username', 'relay', '--password-stdin'], input: '\n', message: /password is empty/ },
  ];
  for (const { name, args, input, message } of refused) {
    test(`set refuses ${name}, changing nothing`, async (t) => {
      const path = await configFile(t);
      const result = await runCli(['relay-proxy', 'set', ...args, '--config', path], input === undefined ? {} : { input });
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, message);
      assert.equal(await readFile(path, 'utf8'), FILE);
    });
  }
});

describe('user add and remove', () => {
  test('--json reports the outcome and the Linux agent warnings; nothing secret is printed', async (t) => {
    const path = await configFile(t);
    const result = await runCli(['user', 'add', 'agent', '--config', path, '--json'], { input: 'p@ss%41' });
    assert.equal(result.code, 0, result.stderr);
    const outcome = JSON.parse(result.stdout) as { action: string; user: string; warnings: string[]; reload: { status: string } };
    assert.equal(outcome.action, 'added');
    assert.equal(outcome.reload.status, 'no-pid-file');
    assert.ok(outcome.warnings.some((w) => w.includes('"@"')) && outcome.warnings.some((w) => w.includes('"%"')));
    assert.ok(!result.stdout.includes('p@ss') && !result.stdout.includes('scrypt$'));
  });

  test('remove of an unknown user fails and leaves the file byte for byte', async (t) => {
    const path = await configFile(t);
    await runCli(['user', 'add', 'agent', '--config', path], { input: 'secret-1' });
    const before = await readFile(path, 'utf8');
    const result = await runCli(['user', 'remove', 'nobody', '--config', path]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no user "nobody"/);
    assert.equal(await readFile(path, 'utf8'), before);
  });
});
