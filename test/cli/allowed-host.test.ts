// `allowed-host add|remove|list` (Add-/Remove-/Get-OMSGatewayAllowedHost) and
// `allowed-client-cert add|remove|list` against temporary files.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { runCli, tempDir } from '../fixtures/cli.js';

const FILE = `# gateway of site A
agents: [legacy]
allowedHosts:
  # certificate revocation for the agents
  - crl.microsoft.com:80
`;

async function configFile(t: TestContext, text = FILE): Promise<string> {
  const path = join(await tempDir(t), 'gateway.yaml');
  await writeFile(path, text);
  return path;
}

async function fileValue(path: string): Promise<Record<string, unknown>> {
  return parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

describe('allowed-host', () => {
  test('add appends an entry, keeping the comments; the same pattern again merges its ports', async (t) => {
    const path = await configFile(t);
    const added = await runCli(['allowed-host', 'add', '*.handler.control.monitor.azure.com', '--config', path]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /allowed \*\.handler\.control\.monitor\.azure\.com:443/);
    assert.equal((await runCli(['allowed-host', 'add', 'crl.microsoft.com:443', '--config', path])).code, 0);
    const text = await readFile(path, 'utf8');
    assert.match(text, /# gateway of site A/);
    assert.match(text, /# certificate revocation for the agents\n {2}- crl\.microsoft\.com:80,443\n/);
    assert.deepEqual((await fileValue(path)).allowedHosts, ['crl.microsoft.com:80,443', '*.handler.control.monitor.azure.com:443']);
  });

  test('add of a host the built-in list already allows changes nothing', async (t) => {
    const path = await configFile(t);
    const result = await runCli(['allowed-host', 'add', '*.ods.opinsights.azure.com', '--config', path, '--json']);
    const outcome = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.equal(outcome.changed, false);
    assert.equal(outcome.source, 'preset:legacy:public');
    assert.equal(await readFile(path, 'utf8'), FILE);
  });

  test('remove takes ports off an entry, then the entry; a built-in host is disabled, and add enables it again', async (t) => {
    const path = await configFile(t);
    await runCli(['allowed-host', 'add', 'crl.microsoft.com:443', '--config', path]);
    assert.equal((await runCli(['allowed-host', 'remove', 'crl.microsoft.com:80', '--config', path])).code, 0);
    assert.deepEqual((await fileValue(path)).allowedHosts, ['crl.microsoft.com:443']);
    assert.equal((await runCli(['allowed-host', 'remove', 'crl.microsoft.com', '--config', path])).code, 0);
    assert.deepEqual((await fileValue(path)).allowedHosts, []);

    const disabled = await runCli(['allowed-host', 'remove', '*.azure-automation.net', '--config', path]);
    assert.match(disabled.stdout, /disabled the built-in host \*\.azure-automation\.net/);
    assert.deepEqual((await fileValue(path)).disabledDefaultHosts, ['*.azure-automation.net']);
    const listed = JSON.parse((await runCli(['allowed-host', 'list', '--config', path, '--json'])).stdout) as { allowlist: { pattern: string }[]; disabledDefaults: string[] };
    assert.ok(!listed.allowlist.some((e) => e.pattern === '*.azure-automation.net'));
    assert.deepEqual(listed.disabledDefaults, ['*.azure-automation.net']);

    const enabled = await runCli(['allowed-host', 'add', '*.azure-automation.net', '--config', path]);
    assert.match(enabled.stdout, /enabled the built-in host \*\.azure-automation\.net again/);
    assert.deepEqual((await fileValue(path)).disabledDefaultHosts, []);
  });

  test('remove of a host that is not allowed fails and changes nothing; a bad pattern is a usage error', async (t) => {
    const path = await configFile(t);
    const missing = await runCli(['allowed-host', 'remove', 'nowhere.example.com', '--config', path]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nowhere\.example\.com is not in the allowlist/);
    const bad = await runCli(['allowed-host', 'add', '*.com', '--config', path]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid host pattern/);
    assert.equal(await readFile(path, 'utf8'), FILE);
  });

  test('list shows every entry with its ports and where it comes from', async (t) => {
    const result = await runCli(['allowed-host', 'list', '--config', await configFile(t)]);
    assert.match(result.stdout, /^PATTERN\s+PORTS\s+SOURCE$/m);
    assert.match(result.stdout, /^crl\.microsoft\.com\s+80\s+operator$/m);
    assert.match(result.stdout, /^\*\.ods\.opinsights\.azure\.com\s+443\s+preset:legacy:public$/m);
    assert.match(result.stdout, /^workspaces: any \(not scoped\)$/m);
    assert.match(result.stdout, /^regions: any \(not scoped\)$/m);
  });

  test('list shows which entries workspaces and regions scope, and their values', async (t) => {
    const ws = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';
    const path = await configFile(t, `agents: [legacy, ama]\nworkspaces: [${ws}]\nregions: [westeurope]\nallowedHosts: [crl.microsoft.com:80]\n`);
    const result = await runCli(['allowed-host', 'list', '--config', path]);
    assert.match(result.stdout, /^PATTERN\s+PORTS\s+SOURCE\s+SCOPE$/m);
    assert.match(result.stdout, /^\*\.ods\.opinsights\.azure\.com\s+443\s+preset:legacy:public\s+workspaces$/m);
    assert.match(result.stdout, /^\*\.handler\.control\.monitor\.azure\.com\s+443\s+preset:ama:public\s+regions$/m);
    assert.match(result.stdout, /^\*\.azure-automation\.net\s+443\s+preset:legacy:public\s+workspaces, regions$/m);
    assert.match(result.stdout, /^crl\.microsoft\.com\s+80\s+operator$/m);
    assert.match(result.stdout, new RegExp(`^workspaces: ${ws} \\(names below a workspace suffix must be <id>\\.<suffix>\\)$`, 'm'));
    assert.match(result.stdout, /^regions: westeurope /m);
    const listed = JSON.parse((await runCli(['allowed-host', 'list', '--effective', '--config', path, '--json'])).stdout) as {
      effective: { pattern: string; scope: string[] }[];
      workspaces: string[];
      regions: string[];
    };
    assert.deepEqual(listed.workspaces, [ws]);
    assert.deepEqual(listed.regions, ['westeurope']);
    assert.deepEqual(listed.effective.find((e) => e.pattern === 'global.handler.control.monitor.azure.com')?.scope, []);
    assert.deepEqual(listed.effective.find((e) => e.pattern === '*.ingest.monitor.azure.com')?.scope, ['regions']);
  });

  test('a URL or Squid\'s leading-dot domain is refused with the form to write instead', async (t) => {
    const path = await configFile(t);
    const url = await runCli(['allowed-host', 'add', 'https://x.ods.opinsights.azure.com', '--config', path]);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /"https:\/\/" is a URL scheme, not part of a host pattern; write "x\.ods\.opinsights\.azure\.com:443"/);
    assert.doesNotMatch(url.stderr, /1-65535/);
    const squid = await runCli(['allowed-host', 'add', '.example.com', '--config', path]);
    assert.equal(squid.code, 2);
    assert.match(squid.stderr, /"\.example\.com" is Squid's form: write "\*\.example\.com"/);
    assert.equal(await readFile(path, 'utf8'), FILE);
  });
});

describe('allowed-client-cert', () => {
  const SUBJECT = 'CN=0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a, OU=Linux Monitoring Agent, O=Microsoft';

  test('add, add again (nothing changes), list, remove, remove again (fails)', async (t) => {
    const path = await configFile(t);
    assert.equal((await runCli(['allowed-client-cert', 'add', '--subject', SUBJECT, '--config', path])).code, 0);
    const again = await runCli(['allowed-client-cert', 'add', '--subject', SUBJECT, '--config', path]);
    assert.match(again.stdout, /already allowed/);
    assert.deepEqual((await fileValue(path)).allowedClientCertificates, [SUBJECT]);
    const listed = JSON.parse((await runCli(['allowed-client-cert', 'list', '--config', path, '--json'])).stdout) as Record<string, unknown>;
    assert.deepEqual(listed.allowedClientCertificates, [SUBJECT]);
    assert.equal((await runCli(['allowed-client-cert', 'remove', '--subject', SUBJECT, '--config', path])).code, 0);
    assert.deepEqual((await fileValue(path)).allowedClientCertificates, []);
    const gone = await runCli(['allowed-client-cert', 'remove', '--subject', SUBJECT, '--config', path]);
    assert.equal(gone.code, 1);
    assert.match(await readFile(path, 'utf8'), /# certificate revocation for the agents/);
  });

  test('the subject is given with --subject and may not be empty', async (t) => {
    const path = await configFile(t);
    assert.equal((await runCli(['allowed-client-cert', 'add', SUBJECT, '--config', path])).code, 2);
    assert.equal((await runCli(['allowed-client-cert', 'add', '--subject', '  ', '--config', path])).code, 2);
    assert.equal(await readFile(path, 'utf8'), FILE);
  });
});
