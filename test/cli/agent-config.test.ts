// `agent-config`: the settings each agent needs for this gateway's listeners, and `--check LINE` on what
// the Linux agent will do with a proxy.conf line.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runCli, tempDir } from '../fixtures/cli.js';
import { basicAuthYaml } from '../fixtures/users.js';

async function configFile(t: TestContext, text: string): Promise<string> {
  const path = join(await tempDir(t), 'gateway.yaml');
  await writeFile(path, text);
  return path;
}

describe('agent-config', () => {
  test('anonymous gateway: the -p argument, proxy.conf written without a newline, Windows and AMA settings', async (t) => {
    const path = await configFile(t, 'listen: [0.0.0.0:8080]\n');
    const result = await runCli(['agent-config', '--host', 'gw.example.net', '--config', path]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /-p http:\/\/gw\.example\.net:8080\n/);
    assert.match(result.stdout, /printf %s 'http:\/\/gw\.example\.net:8080' \| sudo tee \/etc\/opt\/microsoft\/omsagent\/proxy\.conf/);
    assert.match(result.stdout, /OPINSIGHTS_PROXY_URL=http:\/\/gw\.example\.net:8080\n/);
    assert.doesNotMatch(result.stdout, /OPINSIGHTS_PROXY_USERNAME/);
    assert.match(result.stdout, /\{"proxy":\{"mode":"application","address":"http:\/\/gw\.example\.net:8080","auth":"false"\}\}/);
    assert.match(result.stdout, /parsed: the daemon sends CONNECT to gw\.example\.net:8080 without credentials/);
  });

  test('basic gateway: --user with --password-stdin checks the password against the stored hash and fills it in', async (t) => {
    const path = await configFile(t, `${await basicAuthYaml([{ name: 'agent', password: 'right-pass' }])}listen: [10.0.0.5:3128]\n`);
    const right = await runCli(['agent-config', '--user', 'agent', '--password-stdin', '--config', path, '--json'], { input: 'right-pass' });
    assert.equal(right.code, 0, right.stderr);
    const out = JSON.parse(right.stdout) as { listeners: { settings: { linux: { proxyConf: string }; windows: Record<string, string>; ama: { settings: unknown; protectedSettings: unknown } } }[] };
    const settings = out.listeners[0]?.settings;
    assert.equal(settings?.linux.proxyConf, 'http://agent:right-pass@10.0.0.5:3128');
    assert.equal(settings?.windows.OPINSIGHTS_PROXY_USERNAME, 'agent');
    assert.deepEqual(settings?.ama.protectedSettings, { proxy: { username: 'agent', password: 'right-pass' } });
    // The string "true", as Microsoft's examples of the extension settings write it (not the JSON boolean).
    assert.deepEqual(settings?.ama.settings, { proxy: { mode: 'application', address: 'http://10.0.0.5:3128', auth: 'true' } });

    const wrong = await runCli(['agent-config', '--user', 'agent', '--password-stdin', '--config', path], { input: 'wrong-pass' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /not the password of user "agent"/);
    const placeholder = await runCli(['agent-config', '--user', 'agent', '--config', path]);
    assert.match(placeholder.stdout, /-p http:\/\/agent:<password>@10\.0\.0\.5:3128/);
    assert.equal((await runCli(['agent-config', '--user', 'nobody', '--config', path])).code, 1);
  });

  test('a password the Linux agent cannot carry is flagged', async (t) => {
    const path = await configFile(t, `${await basicAuthYaml([{ name: 'agent', password: 'p@ss' }])}listen: [10.0.0.5:3128]\n`);
    const result = await runCli(['agent-config', '--user', 'agent', '--password-stdin', '--config', path], { input: 'p@ss' });
    assert.match(result.stdout, /NOT PARSED: the agent .* connects DIRECTLY/);
    assert.match(result.stdout, /warning: the Linux agent \(proxy\.conf \/ -p\) cannot use a password that contains "@"/);
  });
});

describe('agent-config --check', () => {
  const cases: readonly { line: string; code: number; output: RegExp }[] = [
    { line: 'http://gw.example.net:8080', code: 0, output: /the Linux agent will use the gateway/ },
    { line: 'gw.example.net', code: 1, output: /no port/ },
    { line: 'http://a:b@c@gw.example.net:8080', code: 1, output: /NOT PARSED/ },
    { line: 'ftp://gw.example.net:21', code: 1, output: /NOT PARSED/ },
  ];
  for (const { line, code, output } of cases) {
    test(line, async () => {
      const result = await runCli(['agent-config', '--check', line]);
      assert.equal(result.code, code, result.stdout);
      assert.match(result.stdout, output);
    });
  }

  test('"-" reads the line from standard input as it is, so a trailing newline is seen', async () => {
    const result = await runCli(['agent-config', '--check', '-', '--json'], { input: 'http://gw.example.net:8080\n' });
    assert.equal(result.code, 1);
    const check = JSON.parse(result.stdout) as { usable: boolean; problems: string[] };
    assert.equal(check.usable, false);
    assert.ok(check.problems.some((p) => p.includes('ends with a newline')));
  });
});
