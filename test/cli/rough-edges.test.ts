// What the command line says when things go wrong, and that its own documentation is complete: output to a
// pipe closed early, passwords with control characters or bytes that are not UTF-8, a user name the file
// refuses, "did you mean", errors as JSON under --json, YAML indicators in `config set`, and a completion
// script and manual page that list every command and option `--help` shows and the parser takes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { USAGE } from '../../src/cli/usage.js';
import { runCommand } from '../fixtures/tools.js';
import { runCli, tempDir } from '../fixtures/cli.js';
import { CLI_MAIN } from '../fixtures/gateway.js';

async function configFile(t: TestContext, text = 'agents: [legacy]\n'): Promise<string> {
  const path = join(await tempDir(t), 'gateway.yaml');
  await writeFile(path, text);
  return path;
}

/** Runs the CLI with its standard output a pipe whose reader has gone away before anything was written. */
function runIntoClosedPipe(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('output to a closed pipe', () => {
  test('an edit whose reader went away (| head -1) is saved and exits 0, without a stack trace', async (t) => {
    const path = await configFile(t);
    const result = await runIntoClosedPipe(['allowed-host', 'add', 'crl.microsoft.com:80', '--config', path]);
    assert.equal(result.stderr, '');
    assert.equal(result.code, 0);
    assert.match(await readFile(path, 'utf8'), /crl\.microsoft\.com:80/);
  });

  test('a failing command keeps its own exit status', async () => {
    const result = await runIntoClosedPipe(['allowed-host', 'add', 'https://x.example.com', '--config', '/nonexistent/gateway.yaml', '--json']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /URL scheme/);
  });
});

describe('passwords on standard input', () => {
  const refused: [string, string | Buffer, RegExp][] = [
    ['a newline inside', 'first\nsecond-line-pw\n', /contains a newline at character 6/],
    ['a tab', 'pass\tword-long-enough', /contains a tab at character 5/],
    ['another control character', 'pass\u0007word-long-enough', /control character U\+0007 at character 5/],
    ['bytes that are not UTF-8', Buffer.from([0x70, 0x61, 0xff, 0xfe, 0x73, 0x73]), /not valid UTF-8/],
  ];
  for (const [title, input, message] of refused) {
    test(`user add refuses ${title}, writing nothing and never echoing the password`, async (t) => {
      const path = join(await tempDir(t), 'gateway.yaml');
      const result = await runCli(['user', 'add', 'agent', '--config', path], { input });
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /second-line-pw|word-long-enough/);
      assert.equal(existsSync(path), false);
    });
  }

  test('one trailing newline is removed; a short password is accepted with a warning that gives no length', async (t) => {
    const path = join(await tempDir(t), 'gateway.yaml');
    const short = await runCli(['user', 'add', 'agent', '--config', path], { input: 'short\n' });
    assert.equal(short.code, 0, short.stderr);
    assert.match(short.stderr, /warning: the password is shorter than 12 characters/);
    const long = await runCli(['user', 'add', 'other', '--config', path], { input: 'a-long-enough-password\n' });
    assert.equal(long.code, 0, long.stderr);
    assert.doesNotMatch(long.stderr, /shorter/);
  });

  test('a user name the file refuses is named without a line of a file that was never written', async (t) => {
    const path = join(await tempDir(t), 'gateway.yaml');
    const result = await runCli(['user', 'add', 'a:b', '--config', path], { input: 'a-long-enough-password' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /gateway\.yaml \(not changed: the edit would make it invalid\): auth\.users\[0\]\.name: expected a user name .* without ':'/);
    assert.doesNotMatch(result.stderr, /gateway\.yaml:\d/);
    assert.equal(existsSync(path), false);
  });
});

describe('did you mean', () => {
  const cases: [string, readonly string[], RegExp][] = [
    ['a command', ['stauts'], /unknown command "stauts" \(did you mean "status"\?\)/],
    ['an option', ['allowed-host', 'list', '--efective'], /unknown option --efective \(did you mean "--effective"\?\); allowed-host list takes --config, --json, --effective, --help/],
    ['a shortened option', ['user', 'add', 'x', '--pid'], /unknown option --pid \(did you mean "--pid-file"\?\)/],
    ['a configuration key', ['config', 'set', 'timeout.connectSeconds', '5', '--config', '/tmp/x.yaml'], /unknown key "timeout\.connectSeconds" \(did you mean "timeouts\.connectSeconds"\?\)/],
    ['a help topic', ['help', 'allowed-hosts'], /no command "allowed-hosts" \(did you mean "allowed-host"\?\)/],
  ];
  for (const [title, args, message] of cases) {
    test(title, async () => {
      const result = await runCli(args);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /To specify a positional argument/);
    });
  }

  test('a key of the file', async (t) => {
    const result = await runCli(['config', 'check', await configFile(t, 'timeout:\n  connectSeconds: 5\n')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /gateway\.yaml:1: timeout: unknown key \(did you mean "timeouts"\?\)/);
  });

  test('nothing is suggested when nothing is close', async () => {
    const result = await runCli(['frobnicate']);
    assert.match(result.stderr, /unknown command "frobnicate" \(see: oms-gateway --help\)/);
  });

  test('an option without its value, and a value for a flag', async () => {
    assert.match((await runCli(['config', 'check', '--config'])).stderr, /config check: --config needs a value/);
    assert.match((await runCli(['config', 'check', '--json=yes'])).stderr, /config check: --json takes no value/);
  });
});

describe('--json errors', () => {
  test('a usage error is one JSON object on standard output', async () => {
    const result = await runCli(['allowed-host', 'add', '.example.com', '--config', '/tmp/none.yaml', '--json']);
    assert.equal(result.code, 2);
    const body = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'USAGE');
    assert.match(body.error.message, /Squid's form/);
  });

  test('an invalid configuration carries its issues', async (t) => {
    const result = await runCli(['config', 'check', await configFile(t, 'cloud: mars\n'), '--json']);
    assert.equal(result.code, 2);
    const body = JSON.parse(result.stdout) as { error: { code: string; issues: { key: string; line: number }[] } };
    assert.equal(body.error.code, 'CONFIG_INVALID');
    assert.equal(body.error.issues[0]?.key, 'cloud[0]');
    assert.equal(body.error.issues[0]?.line, 1);
  });

  test('a failure at run time', async (t) => {
    const result = await runCli(['allowed-host', 'remove', 'nowhere.example.com', '--config', await configFile(t), '--json']);
    assert.equal(result.code, 1);
    assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'COMMAND_FAILED');
  });
});

describe('config set and YAML indicators', () => {
  test('a value YAML reads as an alias is refused with its quoted form, which then works', async (t) => {
    const path = await configFile(t);
    const value = '*.ods.opinsights.azure.com=10.0.0.5:443';
    const refused = await runCli(['config', 'set', 'resolve', value, '--config', path]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /starts with "\*", which YAML reads as an alias; quote it: oms-gateway config set resolve "'\*\.ods\.opinsights\.azure\.com=10\.0\.0\.5:443'"/);
    assert.doesNotMatch(refused.stderr, /':'/);
    const quoted = await runCli(['config', 'set', 'resolve', `'${value}'`, '--config', path]);
    assert.equal(quoted.code, 0, quoted.stderr);
    assert.match(await readFile(path, 'utf8'), /resolve:\n\s+- "?\*\.ods\.opinsights\.azure\.com=10\.0\.0\.5:443/);
  });

  test('an anchor, which YAML would drop without a word, is refused', async (t) => {
    const result = await runCli(['config', 'set', 'cloud', '&x public', '--config', await configFile(t)]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /starts with "&", which YAML reads as an anchor/);
  });
});

/** Every command line the parser reads options for, by command and subcommand. */
const INVOCATIONS: readonly (readonly string[])[] = [
  ['start'], ['config', 'check'], ['config', 'get'], ['config', 'set'], ['config', 'unset'],
  ['user', 'add'], ['user', 'remove'], ['user', 'list'], ['status'],
  ['allowed-host', 'add'], ['allowed-host', 'remove'], ['allowed-host', 'list'],
  ['allowed-client-cert', 'add'], ['allowed-client-cert', 'remove'], ['allowed-client-cert', 'list'],
  ['relay-proxy', 'set'], ['relay-proxy', 'get'], ['relay-proxy', 'clear'], ['policy', 'test'], ['reload'],
  ['doctor'], ['agent-config'], ['cert', 'generate'], ['cert', 'request'], ['cert', 'show'],
];

/** What bash completes for the words typed so far (the last one being completed). */
async function complete(script: string, words: readonly string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const program = `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _oms_gateway; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = await runCommand('bash', ['-c', program]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split('\n').filter((line) => line !== '');
}

describe('completion and manual page, from the help texts', () => {
  test('bash completes every command, its subcommands, and every option the parser takes', async () => {
    const script = (await runCli(['completion', 'bash'])).stdout;
    const commands = await complete(script, ['oms-gateway', '']);
    for (const command of [...Object.keys(COMMANDS), 'completion', 'man']) assert.ok(commands.includes(command), `command ${command}`);
    for (const invocation of INVOCATIONS) {
      const [command = '', ...rest] = invocation;
      if (rest[0] !== undefined) assert.ok((await complete(script, ['oms-gateway', command, ''])).includes(rest[0]), invocation.join(' '));
      // Every command parses its options first, and names every option it takes when it meets one it does not.
      const run = COMMANDS[command];
      assert.ok(run !== undefined, command);
      const refusal = await run([...rest, '--zz-not-an-option']).then(() => '', (err: unknown) => (err instanceof Error ? err.message : ''));
      const taken = /takes (.*) \(see:/.exec(refusal)?.[1]?.split(', ');
      assert.ok(taken !== undefined && taken.length > 1, `${invocation.join(' ')}: ${refusal}`);
      const completed = await complete(script, ['oms-gateway', ...invocation, '--']);
      for (const option of taken) assert.ok(completed.includes(option), `${invocation.join(' ')}: ${option} is neither in --help nor completed`);
    }
  });

  test('the manual page has a section per command with its whole help, and renders without warnings', async () => {
    const man = (await runCli(['man'])).stdout;
    const text = man.replace(/\\-/g, '-');
    assert.match(man, /^\.TH OMS-GATEWAY 1 /);
    for (const command of [...Object.keys(COMMANDS), 'completion', 'man']) {
      assert.ok(USAGE[command] !== undefined, `no --help text for ${command}`);
      assert.match(man, new RegExp(`^\\.SS ${command}$`, 'm'));
      for (const option of (USAGE[command] ?? '').match(/--[a-z][a-z0-9-]*/g) ?? []) assert.ok(text.includes(option), option);
    }
    const rendered = await runCommand('sh', ['-c', `printf '%s' "$0" | groff -man -Tutf8 -ww 2>&1 >/dev/null`, man]);
    assert.equal(rendered.stdout, '', 'groff warnings');
  });
});
