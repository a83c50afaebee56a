// `agent-config`: the settings each agent needs for this gateway's listeners, and `--check LINE` on what
// the Linux agent will do with a proxy.conf line.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runCli, tempDir } from '../fixtures/cli.js';
import { basicAuthYaml } from '../fixtures/users.js';
import { generatePassword } from '../../src/agent-config/credentials.js';
import { linuxAgentCredentialProblems } from '../../src/agent-config/linux-agent.js';
import { startGateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startTlsOrigin } from '../fixtures/origin.js';
import { testPki } from '../fixtures/pki.js';
import { hangBound } from '../fixtures/patience.js';

const execFileAsync = promisify(execFile);

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

describe('agent-config for Arc and Kubernetes, and generated credentials', () => {
  test('anonymous gateway: the azcmagent proxy.url line, the gateway-id note, and the Kubernetes proxy settings', async (t) => {
    const path = await configFile(t, 'listen: [0.0.0.0:8080]\nagents: [ama, arc-gateway]\narcGateways: [contoso1.gw.arc.azure.com]\n');
    const result = await runCli(['agent-config', '--host', 'gw.example.net', '--config', path]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^  proxy: +sudo azcmagent config set proxy\.url 'http:\/\/gw\.example\.net:8080'$/m);
    assert.match(result.stdout, /azcmagent connect --gateway-id <Arc gateway resource ID>/);
    assert.match(result.stdout, /this gateway allows arcGateways: \[contoso1\.gw\.arc\.azure\.com\]/);
    assert.match(result.stdout, /"httpsProxy":"http:\/\/gw\.example\.net:8080\/"/);
    assert.doesNotMatch(result.stdout, /trustedCa/);
    assert.doesNotMatch(result.stdout, /warning/);
  });

  test('a TLS listener: an https:// proxy for Kubernetes with the CA certificate from --ca, base64 as AKS wants it', async (t) => {
    const dir = await tempDir(t);
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
    await writeFile(join(dir, 'ca.pem'), ca);
    const { certPem, keyPem } = await testPki();
    await writeFile(join(dir, 'gw.crt'), certPem);
    await writeFile(join(dir, 'gw.key'), keyPem);
    const path = await configFile(t, `listen:\n  - address: 10.0.0.5:3129\n    tls: {cert: ${join(dir, 'gw.crt')}, key: ${join(dir, 'gw.key')}}\n`);
    const result = await runCli(['agent-config', '--config', path, '--ca', join(dir, 'ca.pem'), '--json']);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { listeners: { settings: { kubernetes: { aksHttpProxyConfig: Record<string, unknown>; arcConnectArguments: string } } }[] };
    const k8s = out.listeners[0]?.settings.kubernetes;
    assert.equal(k8s?.aksHttpProxyConfig.httpsProxy, 'https://10.0.0.5:3129/');
    assert.equal(k8s?.aksHttpProxyConfig.trustedCa, Buffer.from(ca).toString('base64'));
    assert.match(k8s?.arcConnectArguments ?? '', /--proxy-https 'https:\/\/10\.0\.0\.5:3129\/' .* --proxy-cert /);
    const noCa = await runCli(['agent-config', '--config', path, '--ca', path]);
    assert.equal(noCa.code, 2);
    assert.match(noCa.stderr, /holds no PEM certificate/);
  });

  test('basic gateway: Arc machines are warned about, since they send no credentials', async (t) => {
    const path = await configFile(t, `${await basicAuthYaml([{ name: 'agent', password: 'right-pass' }])}listen: [10.0.0.5:3128]\n`);
    const result = await runCli(['agent-config', '--config', path]);
    assert.match(result.stdout, /warning: the Arc agent's proxy\.url carries no credentials, .* get 407/);
  });

  test('generated passwords are letters and digits: unencoded in a URL and unquoted in a shell they stay themselves', () => {
    for (let i = 0; i < 200; i += 1) {
      const password = generatePassword();
      assert.match(password, /^[A-Za-z0-9]{24}$/);
      const url = new URL(`http://agent:${password}@gw.example.net:3128`);
      assert.equal(url.password, password);
      assert.deepEqual(linuxAgentCredentialProblems('agent', password), []);
    }
    assert.notEqual(generatePassword(), generatePassword());
  });

  test('--generate-password: stored with the printed command, then used by curl in an unencoded proxy URL through the gateway', async (t) => {
    const path = await configFile(t, `${await basicAuthYaml([{ name: 'other', password: 'x-pass' }])}listen: [10.0.0.5:3128]\n`);
    const generated = await runCli(['agent-config', '--user', 'agent', '--generate-password', '--config', path, '--json']);
    assert.equal(generated.code, 0, generated.stderr);
    const out = JSON.parse(generated.stdout) as { storeCommand: string; listeners: { settings: { linux: { proxyConf: string }; ama: { protectedSettings: { proxy: { password: string } } } } }[] };
    const password = out.listeners[0]?.settings.ama.protectedSettings.proxy.password ?? '';
    assert.match(password, /^[A-Za-z0-9]{24}$/);
    assert.equal(out.listeners[0]?.settings.linux.proxyConf, `http://agent:${password}@10.0.0.5:3128`);
    assert.equal(out.storeCommand, `printf %s ${password} | oms-gateway user add 'agent' --config '${path}'`);

    // The store command's pipe, run by a real shell, hands `user add` exactly the password.
    const shell = spawnSync('sh', ['-c', out.storeCommand.replace(/ \| oms-gateway .*$/, '')], { encoding: 'utf8' });
    assert.equal(shell.stdout, password);
    assert.equal((await runCli(['user', 'add', 'agent', '--config', path], { input: shell.stdout })).code, 0);

    const origin = await startTlsOrigin();
    t.after(() => origin.close());
    const gateway = await startGateway({ configYaml: await readFile(path, 'utf8'), args: ['--auth', 'basic', '--allow-host', 'api.example.com', '--resolve', `api.example.com=127.0.0.1:${origin.port}`] });
    t.after(() => gateway.stop());
    // Asynchronously: the origin runs in this process.
    const curl = await execFileAsync('curl', ['-sk', '-o', '-', '-w', '\n%{http_code}', '-x', `http://agent:${password}@127.0.0.1:${gateway.port}`, 'https://api.example.com/hello'], { encoding: 'utf8', timeout: hangBound(20_000) });
    assert.equal(curl.stdout, `${HELLO_BODY}\n200`, curl.stderr);
    assert.equal(gateway.records.filter((r) => r.event === 'auth-failed').length, 0);
  });
});
