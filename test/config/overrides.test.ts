import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/auth/password.js';
import { ConfigError, loadConfig, parseConfigText, type ConfigOverrides } from '../../src/config/load.js';
import { DEFAULT_AGENTS, enabledPresetEntries } from '../../src/policy/presets.js';
import { parsePattern } from '../../src/policy/patterns.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

function refusal(text: string, overrides: ConfigOverrides): ConfigError {
  try {
    parseConfigText(text, 'gateway.yaml', overrides);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error;
  }
  assert.fail('the overrides were accepted');
}

describe('flags override the file', () => {
  let users = '';
  before(async () => {
    users = `  users:\n    - name: agent\n      passwordHash: "${await hashPassword('flag-test')}"\n`;
  });

  test('--listen replaces the file’s listeners and the defaults, none of them optional', () => {
    const file = 'listen: [0.0.0.0:8080]\n';
    const config = parseConfigText(file, 'gateway.yaml', { listen: ['127.0.0.1:0', '[::1]:0'] });
    assert.deepEqual(config.listen, [
      { host: '127.0.0.1', port: 0, optional: false },
      { host: '::1', port: 0, optional: false },
    ]);
    const fromDefaults = loadConfig({ path: undefined, overrides: { listen: ['[::]:8080'] } });
    assert.deepEqual(fromDefaults.listen, [{ host: '::', port: 8080, optional: false }]);
  });

  test('an empty --listen list keeps the file’s listeners', () => {
    const config = parseConfigText('listen: [127.0.0.1:9000]\n', 'gateway.yaml', { listen: [] });
    assert.deepEqual(config.listen, [{ host: '127.0.0.1', port: 9000, optional: false }]);
  });

  test('--allow-host adds entries after the defaults and the file’s, with source "flag"', () => {
    const config = parseConfigText('allowedHosts: [crl.microsoft.com:80]\n', 'gateway.yaml', {
      allowHosts: ['*.handler.control.monitor.azure.com', 'localhost:8443,9443'],
    });
    assert.deepEqual(config.policy.allowlist, [
      ...enabledPresetEntries(INSTALLED_PRESETS, DEFAULT_AGENTS, ['public']),
      { pattern: 'crl.microsoft.com', ports: [80], source: 'operator' },
      { pattern: '*.handler.control.monitor.azure.com', ports: [443], source: 'flag' },
      { pattern: 'localhost', ports: [8443, 9443], source: 'flag' },
    ]);
  });

  test('--resolve adds mappings, and replaces a file mapping of the same pattern', () => {
    const file = 'resolve: ["*.ods.opinsights.azure.com=10.0.0.5", "*.blob.core.windows.net=10.0.0.6"]\n';
    const config = parseConfigText(file, 'gateway.yaml', {
      resolve: ['*.ODS.opinsights.azure.com=127.0.0.1:18443', 'ods.systemcenteradvisor.com=[::1]:18444'],
    });
    assert.deepEqual(config.resolve, [
      { pattern: '*.blob.core.windows.net', address: '10.0.0.6', port: undefined },
      { pattern: '*.ods.opinsights.azure.com', address: '127.0.0.1', port: 18443 },
      { pattern: 'ods.systemcenteradvisor.com', address: '::1', port: 18444 },
    ]);
  });

  test('--auth and --log-level replace the file’s values', () => {
    const file = `auth:\n  mode: anonymous\n${users}log:\n  level: warn\n`;
    const config = parseConfigText(file, 'gateway.yaml', { authMode: 'basic', logLevel: 'debug' });
    assert.equal(config.auth.mode, 'basic');
    assert.equal(config.log.level, 'debug');
  });

  test('--auth anonymous makes a basic file without users acceptable', () => {
    const config = parseConfigText('auth:\n  mode: basic\n', 'gateway.yaml', { authMode: 'anonymous' });
    assert.equal(config.auth.mode, 'anonymous');
  });
});

describe('a bad flag value is refused, naming the flag and the value', () => {
  const PATTERN_TLD = (() => {
    const result = parsePattern('*.com');
    return result.ok ? '' : result.message;
  })();
  const cases: [string, ConfigOverrides, string][] = [
    ['--listen without a port', { listen: ['x'] }, '--listen "x": expected HOST:PORT, e.g. 0.0.0.0:8080'],
    [
      '--listen with a host name',
      { listen: ['localhost:8080'] },
      '--listen "localhost:8080": HOST must be an IP address, IPv6 in brackets as in [::]:8080; expected HOST:PORT, e.g. 0.0.0.0:8080',
    ],
    [
      '--listen twice on one address',
      { listen: ['127.0.0.1:8080', '127.0.0.1:8080'] },
      '--listen "127.0.0.1:8080": given twice; each listener needs its own HOST:PORT',
    ],
    [
      '--resolve without ADDRESS',
      { resolve: ['*.ods.opinsights.azure.com'] },
      '--resolve "*.ods.opinsights.azure.com": expected PATTERN=ADDRESS[:PORT], e.g. *.ods.opinsights.azure.com=127.0.0.1:18443',
    ],
    [
      '--resolve twice for one pattern',
      { resolve: ['a.example.com=127.0.0.1', 'A.example.com=127.0.0.2'] },
      '--resolve "A.example.com=127.0.0.2": PATTERN given twice; map each pattern once',
    ],
    ['--allow-host over a whole TLD', { allowHosts: ['*.com'] }, `--allow-host "*.com": ${PATTERN_TLD}`],
    ['--auth with an unknown mode', { authMode: 'digest' }, '--auth "digest": expected one of: anonymous, basic'],
    [
      '--auth basic without users',
      { authMode: 'basic' },
      '--auth "basic": the configuration has no users; add one with `oms-gateway user add NAME`',
    ],
    [
      '--log-level with an unknown level',
      { logLevel: 'verbose' },
      '--log-level "verbose": expected one of: fatal, error, warn, info, debug, trace, silent',
    ],
  ];
  for (const [name, overrides, message] of cases) {
    test(name, () => {
      const error = refusal('', overrides);
      assert.equal(error.message, message);
      assert.equal(error.issues.length, 1);
      assert.equal(error.issues[0]?.line, undefined);
    });
  }

  test('every bad flag and every file issue are reported together, the file first', () => {
    const error = refusal('log:\n  level: loud\n', { listen: ['x'], logLevel: 'verbose' });
    assert.deepEqual(
      error.issues.map((issue) => issue.key),
      ['log.level', '--listen', '--log-level'],
    );
    assert.match(error.message, /^gateway\.yaml:2: log\.level: expected one of: fatal, /);
  });
});
