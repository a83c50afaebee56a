// deploy/systemd: the unit passes `systemd-analyze verify` and keeps a low exposure score, the command it
// starts is one the gateway accepts, and install.sh lays the files out where the unit expects them.
//
// `systemd-analyze verify` needs no running systemd (it works in a container), but it checks that every
// Exec*= binary exists on the checking host. install.sh is therefore run into a temporary root with --node
// naming a node binary of this host that is not /usr/bin/node: it writes the drop-in an operator would get,
// and verify loads drop-ins from `<unit>.d/` beside the unit, so the shipped unit itself is what is checked,
// on any host. verify reports unknown keys and bad values as warnings with exit status 0, so its output
// must be empty too.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { launcherNodeOptions, nodeOptionsOf } from '../../bench/servers.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { REPO_ROOT } from '../fixtures/gateway.js';
import { requireCommand } from '../fixtures/tools.js';
import { defaultConfig, effectiveConfig, readRepoFile } from './effective.js';
import { hangBound } from '../fixtures/patience.js';

const UNIT_TEXT = readRepoFile('deploy', 'systemd', 'oms-gateway.service');
const INSTALL = join(REPO_ROOT, 'deploy', 'systemd', 'install.sh');

/** Key → values of one section (repeated keys keep every value, in order). */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1] ?? '';
      continue;
    }
    const at = line.indexOf('=');
    if (current !== name || at < 0) continue;
    const key = line.slice(0, at);
    out.set(key, [...(out.get(key) ?? []), line.slice(at + 1)]);
  }
  return out;
}

function one(values: Map<string, string[]>, key: string): string {
  const list = values.get(key);
  assert.ok(list && list.length === 1, `${key}= once, got ${JSON.stringify(list)}`);
  return list[0] ?? '';
}

/** systemd time span in seconds ("90", "90s", "1min 30s"). */
function seconds(span: string): number {
  let total = 0;
  for (const [, n, unit = 's'] of span.matchAll(/(\d+)\s*(min|s)?/g)) total += Number(n) * (unit === 'min' ? 60 : 1);
  return total;
}

function analyze(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: hangBound(60_000) });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

const service = section(UNIT_TEXT, 'Service');
const execStart = one(service, 'ExecStart').split(/\s+/);
/** ExecStart's words: node, its options (test/deploy/node-options.test.ts), the script, the command's arguments. */
const scriptAt = execStart.findIndex((word) => word.endsWith('.js'));

describe('systemd unit', () => {
  test('runs the CLI the package publishes, with flags and a configuration the gateway accepts', () => {
    const [node] = execStart;
    const [script, ...argv] = execStart.slice(scriptAt);
    assert.equal(node, '/usr/bin/node');
    const bin = (JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> }).bin['oms-gateway'] ?? '';
    assert.equal(script, posix.join(one(service, 'WorkingDirectory'), bin));
    const env = Object.fromEntries((service.get('Environment') ?? []).map((pair) => pair.split('=', 2) as [string, string]));
    assert.equal(env.OMS_GATEWAY_CONFIG, '/etc/oms-gateway/oms-gateway.yaml');
    // install.sh puts the example file there; the unit's flags must load with it.
    assert.ok(effectiveConfig(argv, env, () => readRepoFile('config', 'oms-gateway.example.yaml')));
  });

  const required: [string, string][] = [
    ['User', 'oms-gateway'],
    ['Group', 'oms-gateway'],
    ['Type', 'simple'],
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['CapabilityBoundingSet', 'CAP_NET_BIND_SERVICE'],
    ['AmbientCapabilities', 'CAP_NET_BIND_SERVICE'],
    ['Restart', 'on-failure'],
    ['ExecReload', '/bin/kill -HUP $MAINPID'],
    ['KillSignal', 'SIGTERM'],
    ['StandardOutput', 'journal'],
    ['StandardError', 'journal'],
    // Exit status 2 is a bad configuration: restarting cannot fix it.
    ['RestartPreventExitStatus', '2'],
  ];
  for (const [key, value] of required) {
    test(`${key}=${value}`, () => assert.equal(one(service, key), value));
  }

  test('raises the descriptor limit well above the usual 1,024 (two per tunnel)', () => {
    assert.ok(Number(one(service, 'LimitNOFILE')) >= 65_536);
  });

  test('writes only to its runtime and log directories', () => {
    assert.equal(service.get('ReadWritePaths'), undefined, 'ProtectSystem=strict with no extra writable path');
    assert.deepEqual([one(service, 'RuntimeDirectory'), one(service, 'LogsDirectory')], ['oms-gateway', 'oms-gateway']);
  });

  test('gives a drain longer than the gateway takes before systemd sends SIGKILL', () => {
    const { timeouts } = defaultConfig();
    const drain = timeouts.drainDelaySeconds + timeouts.shutdownGraceSeconds;
    assert.ok(seconds(one(service, 'TimeoutStopSec')) > drain, `TimeoutStopSec ${one(service, 'TimeoutStopSec')} ≤ ${drain} s`);
    assert.equal(one(service, 'KillMode'), 'mixed');
  });
});

describe('systemd-analyze', () => {
  let root = '';
  let unit = '';

  before(() => {
    requireCommand('systemd-analyze');
    root = mkdtempSync(join(tmpdir(), 'oms-gateway-systemd-'));
    // A node path other than the unit's /usr/bin/node, so the drop-in is written (and used) on every host.
    const node = join(root, 'node-bin', 'node');
    mkdirSync(dirname(node));
    symlinkSync(process.execPath, node);
    const result = spawnSync('bash', [INSTALL, '--root', join(root, 'stage'), '--no-deps', '--node', node], { encoding: 'utf8', timeout: hangBound(60_000) });
    assert.equal(result.status, 0, `install.sh failed:\n${result.stdout}\n${result.stderr}`);
    unit = join(root, 'stage', 'etc', 'systemd', 'system', 'oms-gateway.service');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('verify passes on the shipped unit, without a warning', () => {
    assert.equal(readFileSync(unit, 'utf8'), UNIT_TEXT, 'install.sh installs the unit unchanged');
    const { status, output } = analyze(['verify', unit]);
    assert.equal(status, 0, output);
    assert.equal(output, '', 'no warnings');
  });

  test('verify would catch a misspelt directive (the check above has teeth)', () => {
    const broken = join(root, 'broken', 'oms-gateway.service');
    mkdirSync(dirname(broken));
    copyFileSync(unit, broken);
    writeFileSync(broken, `${UNIT_TEXT.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes').replace('/usr/bin/node', process.execPath)}`);
    const { output } = analyze(['verify', broken]);
    assert.match(output, /Unknown key 'NoNewPrivilege'/);
  });

  test('the sandbox keeps the exposure score at 2.0 or below', () => {
    const { status, output } = analyze(['security', '--offline=yes', '--threshold=20', unit]);
    assert.equal(status, 0, output.split('\n').slice(-3).join('\n'));
  });
});

describe('install.sh', () => {
  let root = '';
  const stage = (): string => join(root, 'stage');
  const run = (...args: string[]) => spawnSync('bash', [INSTALL, '--root', stage(), '--no-deps', '--node', process.execPath, ...args], { encoding: 'utf8', timeout: hangBound(60_000) });

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'oms-gateway-install-'));
    const result = run();
    assert.equal(result.status, 0, result.stderr);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('puts the application where ExecStart runs it', () => {
    const script = execStart[scriptAt] ?? '';
    assert.ok(existsSync(join(stage(), script)), `${script} in the staged root`);
    assert.ok(existsSync(join(stage(), 'opt', 'oms-gateway', 'package-lock.json')), 'the lock file for npm ci --omit=dev');
  });

  test('installs the documented default configuration, with the pid file where the unit lets it write', () => {
    const installed = join(stage(), 'etc', 'oms-gateway', 'oms-gateway.yaml');
    const example = readRepoFile('config', 'oms-gateway.example.yaml');
    const text = readFileSync(installed, 'utf8');
    assert.equal(statSync(installed).mode & 0o777, 0o640);
    assert.equal(statSync(dirname(installed)).mode & 0o777, 0o750);
    const { pidFile, sourcePath: _installedPath, ...config } = loadConfig({ path: installed });
    const { pidFile: none, sourcePath: _examplePath, ...defaults } = parseConfigText(example, 'example');
    assert.equal(none, undefined);
    assert.deepEqual(config, defaults, 'every other setting at its default');
    assert.equal(pidFile, `/run/${one(service, 'RuntimeDirectory')}/oms-gateway.pid`, 'so `oms-gateway reload` and the editing commands find the service');
    assert.ok(text.split('\n').length >= example.split('\n').length, 'the comments are kept');
  });

  test('never overwrites an existing configuration', () => {
    const installed = join(stage(), 'etc', 'oms-gateway', 'oms-gateway.yaml');
    writeFileSync(installed, 'cloud: usgov\n');
    const again = run();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /kept the existing/);
    assert.equal(readFileSync(installed, 'utf8'), 'cloud: usgov\n');
  });

  test('installs a command that runs the CLI as the service user with the installed configuration', () => {
    const wrapper = readFileSync(join(stage(), 'usr', 'local', 'bin', 'oms-gateway'), 'utf8');
    assert.match(wrapper, /runuser -u oms-gateway -- /);
    assert.ok(wrapper.includes(`OMS_GATEWAY_CONFIG:=${'/etc/oms-gateway/oms-gateway.yaml'}`));
    assert.ok(wrapper.includes(execStart[scriptAt] ?? ''));
  });

  test("the command gives node the launchers' options, so `oms-gateway start` by hand runs as the service does", () => {
    const wrapper = readFileSync(join(stage(), 'usr', 'local', 'bin', 'oms-gateway'), 'utf8');
    const runs = wrapper.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('exec '));
    assert.equal(runs.length, 2, 'as root (through runuser) and as anyone else');
    for (const line of runs) {
      const words = line.split(/\s+/);
      const node = words.indexOf(`"${process.execPath}"`);
      assert.ok(node > 0, line);
      assert.deepEqual(nodeOptionsOf(words.slice(node)), launcherNodeOptions(), line);
    }
  });

  test('refuses unknown arguments and a node that is not there', () => {
    const unknown = run('--bogus');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown argument '--bogus'/);
    const noNode = spawnSync('bash', [INSTALL, '--root', stage(), '--no-deps', '--node', join(root, 'missing-node')], { encoding: 'utf8' });
    assert.equal(noNode.status, 1);
    assert.match(noNode.stderr, /Node\.js not found/);
  });
});
