import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, exposedSecretsMessage, loadConfig, parseConfigText, resolveConfigPath, type ExposedSecrets } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { DUMMY_PASSWORD_HASH } from '../../src/auth/password.js';
import { MAPPING_EXPECTED } from '../../src/config/forms.js';
import { parseCidr } from '../../src/policy/addresses.js';
import { DEFAULT_DENIED_ADDRESSES } from '../../src/policy/defaults.js';
import { DEFAULT_AGENTS, enabledPresetEntries } from '../../src/policy/presets.js';
import { parseAllowEntry, parsePattern } from '../../src/policy/patterns.js';
import { INSTALLED_PRESETS } from '../fixtures/presets.js';

const FIXTURES = new URL('../../../test/config/fixtures/', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(name, FIXTURES));

function loadError(path: string): ConfigError {
  try {
    loadConfig({ path });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${path} loaded, but it is invalid`);
}

function policyMessage(result: { ok: true } | { ok: false; message: string }): string {
  assert.equal(result.ok, false);
  return result.ok ? '' : result.message;
}

const TOP_KEYS = 'listen, cloud, defaultHosts, disabledDefaultHosts, allowedHosts, arcGateways, workspaces, agents, regions, policy, deniedAddresses, resolve, auth, clients, timeouts, limits, log, metrics, pidFile, watch, reload, relayProxy, upstreamProbe, allowedClientCertificates, inspection, workers, workerScheduling, dns';
const LISTEN = 'expected HOST:PORT, e.g. 0.0.0.0:8080';
const LISTEN_HOST = `HOST must be an IP address, IPv6 in brackets as in [::]:8080; ${LISTEN}`;
const USER_NAME = "expected a user name of 1-256 characters without ':' or control characters";
const HASH = 'expected a hash written by `oms-gateway user add` (scrypt$N$r$p$salt$hash)';
const SECONDS = (max: number): string => `expected a number of seconds greater than 0 and at most ${max}`;
const PATTERN_TLD = policyMessage(parsePattern('*.com'));
const PATTERN_INNER_STAR = policyMessage(parsePattern('a.*.b'));
const BAD_PORTS = policyMessage(parseAllowEntry('crl.microsoft.com:80,0', 'operator'));

interface Expected {
  readonly key: string;
  readonly line: number;
  readonly message: string;
}

/** One fixture per way a file can be wrong → every issue it must produce, in file order. */
const INVALID: Record<string, readonly Expected[]> = {
  'unknown-key-top.yaml': [{ key: 'allowHosts', line: 3, message: `unknown key (did you mean "allowedHosts"?); expected one of: ${TOP_KEYS}` }],
  'unknown-key-nested.yaml': [
    { key: 'auth.password', line: 3, message: 'unknown key; expected one of: mode, realm, users, usersFile, cacheMaxEntries, cacheTtlSeconds, throttle' },
    {
      key: 'timeouts.idleSeconds',
      line: 6,
      message: 'unknown key; expected one of: connectSeconds, requestHeadSeconds, shutdownGraceSeconds, drainDelaySeconds, keepAliveSeconds, tunnelIdleSeconds, tunnelHalfClosedSeconds, tunnelMaxSeconds, authSeconds, connectAttemptDelaySeconds',
    },
  ],
  'wrong-type.yaml': [
    { key: 'defaultHosts', line: 1, message: 'expected true or false' },
    { key: 'workspaces', line: 2, message: 'expected a list of workspace IDs' },
    { key: 'timeouts.connectSeconds', line: 4, message: SECONDS(300) },
    { key: 'log', line: 5, message: 'expected a mapping of settings' },
  ],
  'not-a-mapping.yaml': [{ key: '', line: 1, message: 'expected a mapping of settings' }],
  'bad-listen.yaml': [
    { key: 'listen[1]', line: 3, message: LISTEN_HOST },
    { key: 'listen[2]', line: 4, message: LISTEN },
    { key: 'listen[3]', line: 5, message: `PORT must be a whole number 0-65535 (0 lets the system choose); ${LISTEN}` },
    { key: 'listen[4]', line: 6, message: LISTEN_HOST },
  ],
  'duplicate-listener.yaml': [
    { key: 'listen[3]', line: 5, message: 'same address as listen[2]; each listener needs its own HOST:PORT' },
  ],
  'bad-pattern.yaml': [
    { key: 'allowedHosts[1]', line: 3, message: PATTERN_TLD },
    { key: 'allowedHosts[2]', line: 4, message: PATTERN_INNER_STAR },
  ],
  'bad-port.yaml': [
    { key: 'allowedHosts[0]', line: 2, message: BAD_PORTS },
    { key: 'allowedHosts[1]', line: 3, message: policyMessage(parseAllowEntry('*.example.com:65536', 'operator')) },
  ],
  'bad-cidr.yaml': [
    { key: 'deniedAddresses[1]', line: 3, message: policyMessage(parseCidr('10.0.0.1/8')) },
    { key: 'deniedAddresses[2]', line: 4, message: policyMessage(parseCidr('300.1.1.1/32')) },
    { key: 'deniedAddresses[3]', line: 5, message: policyMessage(parseCidr('::1/129')) },
  ],
  'bad-resolve.yaml': [
    { key: 'resolve[1]', line: 3, message: MAPPING_EXPECTED },
    { key: 'resolve[2]', line: 4, message: `PATTERN: ${PATTERN_TLD}; ${MAPPING_EXPECTED}` },
    {
      key: 'resolve[3]',
      line: 5,
      message: `ADDRESS: host name is not valid DNS syntax (labels of 1-63 a-z, 0-9, - not at either end); ${MAPPING_EXPECTED}`,
    },
    { key: 'resolve[4]', line: 6, message: `PORT must be a whole number 1-65535; ${MAPPING_EXPECTED}` },
  ],
  'duplicate-resolve.yaml': [{ key: 'resolve[1]', line: 3, message: 'same PATTERN as resolve[0]; map each pattern once' }],
  'bad-workspace.yaml': [
    { key: 'workspaces[1]', line: 3, message: 'expected a workspace ID (GUID), e.g. 0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a' },
  ],
  'bad-cloud.yaml': [{ key: 'cloud[1]', line: 1, message: 'expected one of: public, usgov, china' }],
  'bad-throttle.yaml': [
    { key: 'auth.throttle.maxConcurrentPerClient', line: 3, message: 'expected a whole number from 0 to 100000' },
    { key: 'auth.throttle.maxConcurrentPerUser', line: 4, message: 'expected a whole number from 0 to 100000' },
    { key: 'auth.throttle.trustedSources[0]', line: 5, message: 'invalid address range: host bits are set; use "10.0.0.0/8"' },
    { key: 'auth.throttle.trustedSources[1]', line: 5, message: 'invalid address range: not an IPv4 (a.b.c.d) or IPv6 address' },
    { key: 'auth.throttle.knownSourceSeconds', line: 6, message: 'expected a number of seconds from 0 (off) to 604800' },
  ],
  'out-of-bounds.yaml': [
    { key: 'auth.cacheMaxEntries', line: 2, message: 'expected a whole number from 1 to 1000000' },
    { key: 'auth.cacheTtlSeconds', line: 3, message: 'expected a whole number from 1 to 86400' },
    { key: 'timeouts.connectSeconds', line: 5, message: SECONDS(300) },
    { key: 'timeouts.shutdownGraceSeconds', line: 6, message: SECONDS(3600) },
    { key: 'timeouts.keepAliveSeconds', line: 7, message: 'expected a whole number from 1 to 3600' },
  ],
  'duplicate-user.yaml': [
    { key: 'auth.users[1].name', line: 6, message: 'same name as auth.users[0]; user names must be unique' },
  ],
  'bad-user.yaml': [
    { key: 'auth.users[0].name', line: 3, message: USER_NAME },
    { key: 'auth.users[1].name', line: 5, message: `required: ${USER_NAME}` },
  ],
  'basic-without-users.yaml': [
    {
      key: 'auth.mode',
      line: 3,
      message: 'basic needs at least one entry under auth.users; add one with `oms-gateway user add NAME`',
    },
  ],
  'bad-password-hash.yaml': [
    { key: 'auth.users[1].passwordHash', line: 7, message: HASH },
    { key: 'auth.users[2].passwordHash', line: 9, message: HASH },
  ],
  'unknown-disabled-default.yaml': [
    {
      key: 'disabledDefaultHosts[1]',
      line: 4,
      message: `not a preset host of agents legacy, ama in cloud public; expected one of: ${[...new Set(enabledPresetEntries(INSTALLED_PRESETS, DEFAULT_AGENTS, ['public']).map((e) => e.pattern))].join(', ')}`,
    },
  ],
  'yaml-syntax.yaml': [
    {
      key: '',
      line: 3,
      message: 'YAML syntax (BAD_INDENT): Flow sequence in block collection must be sufficiently indented and end with a ]',
    },
  ],
  'duplicate-key.yaml': [{ key: 'auth.mode', line: 4, message: 'duplicate key; write each key once' }],
  'secret-in-syntax-error.yaml': [
    { key: '', line: 3, message: 'YAML syntax (UNEXPECTED_TOKEN): Unexpected scalar at node end' },
    { key: '', line: 3, message: 'YAML syntax (UNEXPECTED_TOKEN): Unexpected map-value-ind token in YAML stream' },
    { key: '', line: 3, message: 'YAML syntax (UNEXPECTED_TOKEN): Unexpected scalar token in YAML stream' },
  ],
};

describe('an invalid file is refused with the key, the line and what was expected', () => {
  for (const [name, expected] of Object.entries(INVALID)) {
    test(name, () => {
      const path = fixture(name);
      const error = loadError(path);
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.deepEqual(
        error.issues.map(({ key, line, message }) => ({ key, line, message })),
        expected,
      );
      const lines = expected.map(({ key, line, message }) => `${path}:${line}: ${key === '' ? '' : `${key}: `}${message}`);
      assert.equal(error.message, lines.join('\n'));
    });
  }

  test('every fixture that is not a valid file has a case above', () => {
    const valid = ['empty.yaml', 'comment-only.yaml'];
    const files = readdirSync(FIXTURES).filter((file) => !valid.includes(file));
    assert.deepEqual(files.sort(), Object.keys(INVALID).sort());
  });
});

describe('secrets never appear in an error', () => {
  const SECRET = /scrypt\$[^"\s]+|hunter2-plaintext/g;
  const secretsIn = (file: string): string[] => readFileSync(fixture(file), 'utf8').match(SECRET) ?? [];
  const withSecrets = readdirSync(FIXTURES).filter((file) => secretsIn(file).length > 0);

  test('the fixtures below do carry hashes and a plain-text password', () => {
    assert.ok(withSecrets.length >= 4, withSecrets.join(', '));
  });

  for (const file of withSecrets) {
    test(file, () => {
      const secrets = secretsIn(file);
      const error = loadError(fixture(file));
      const everything = `${error.message}\n${JSON.stringify(error.issues)}`;
      for (const secret of secrets) {
        assert.ok(!everything.includes(secret), `${file}: error shows ${secret.slice(0, 12)}...`);
        // A truncated or mangled hash is still a hash; no fragment of one belongs in a message either.
        assert.ok(!everything.includes(secret.split('$').at(-1)?.slice(0, 16) ?? '\0'));
      }
    });
  }
});

describe('files that set nothing take every default', () => {
  const defaults = parseConfigText('', 'inline');

  for (const name of ['empty.yaml', 'comment-only.yaml']) {
    test(name, () => {
      const path = fixture(name);
      assert.deepEqual(loadConfig({ path }), { ...defaults, sourcePath: path });
    });
  }

  test('the defaults', () => {
    assert.deepEqual(defaults.listen, [
      { host: '0.0.0.0', port: 8080, optional: false },
      { host: '::', port: 8080, optional: true },
    ]);
    assert.deepEqual(defaults.policy, {
      mode: 'enforce',
      clouds: ['public'],
      agents: ['legacy', 'ama'],
      includeDefaults: true,
      disabledDefaults: [], arcGateways: [], presets: INSTALLED_PRESETS,
      allowlist: enabledPresetEntries(INSTALLED_PRESETS, ['legacy', 'ama'], ['public']),
      workspaces: [],
      regions: [],
      deniedAddresses: [...DEFAULT_DENIED_ADDRESSES],
    });
    assert.deepEqual(defaults.resolve, []);
    assert.deepEqual(defaults.auth, {
      mode: 'anonymous',
      realm: 'oms-gateway',
      users: [],
      cacheMaxEntries: 10000,
      cacheTtlSeconds: 300,
      throttle: {
        delaySeconds: 0.5,
        failuresBeforeDelay: 3,
        lockoutFailures: 10,
        lockoutSeconds: 300,
        maxDelaySeconds: 8,
        maxTracked: 10000,
        windowSeconds: 900,
        maxConcurrentPerClient: 4,
        maxConcurrentPerUser: 4,
        trustedSources: [],
        knownSourceSeconds: 86400,
      },
    });
    assert.deepEqual(defaults.timeouts, {
      authSeconds: 10,
      connectAttemptDelaySeconds: 0.25,
      connectSeconds: 10,
      drainDelaySeconds: 0,
      keepAliveSeconds: 60,
      requestHeadSeconds: 30,
      shutdownGraceSeconds: 30,
      tunnelHalfClosedSeconds: 60,
      tunnelIdleSeconds: 3600,
      tunnelMaxSeconds: 0,
    });
    assert.deepEqual(defaults.log, { file: undefined, format: 'json', level: 'info', bufferBytes: 0 });
  });

  test('the embedded default is the same configuration, with no source path', () => {
    assert.deepEqual(loadConfig({ path: undefined }), { ...defaults, sourcePath: undefined });
  });

  test('a key without a value means its default', () => {
    const config = parseConfigText('listen:\nallowedHosts:\nauth:\n  users:\ntimeouts:\n', 'inline');
    assert.deepEqual(config, { ...defaults, sourcePath: 'inline' });
  });
});

describe('single values out of their bounds', () => {
  const NAME = "expected a user name of 1-256 characters without ':' or control characters";
  const user = (name: string): string => `auth:\n  users:\n    - name: ${JSON.stringify(name)}\n      passwordHash: x\n`;
  const cases: [string, string, string, string][] = [
    ['an empty cloud list', 'cloud: []\n', 'cloud', 'expected at least one of: public, usgov, china'],
    ['an empty listener list', 'listen: []\n', 'listen', 'expected at least one HOST:PORT'],
    ['a realm with a quote', 'auth:\n  realm: \'say "hi"\'\n', 'auth.realm', 'expected 1-128 visible ASCII characters without " or \\'],
    ['a non-ASCII realm', 'auth:\n  realm: gätewäy\n', 'auth.realm', 'expected 1-128 visible ASCII characters without " or \\'],
    ['an unknown log level', 'log:\n  level: verbose\n', 'log.level', 'expected one of: fatal, error, warn, info, debug, trace, silent'],
    ['an unknown auth mode', 'auth:\n  mode: digest\n', 'auth.mode', 'expected one of: anonymous, basic'],
    ['an empty user name', user(''), 'auth.users[0].name', NAME],
    ['a user name of 257 characters', user('ü'.repeat(257)), 'auth.users[0].name', NAME],
    ['a user name with a control character', user('agent\u0007'), 'auth.users[0].name', NAME],
    ['a user name with a C1 control character', user('agent\u0085'), 'auth.users[0].name', NAME],
  ];
  for (const [name, text, key, message] of cases) {
    test(name, () => {
      assert.throws(
        () => parseConfigText(text, 'inline'),
        (error: unknown) => error instanceof ConfigError && error.issues.some((i) => i.key === key && i.message === message),
      );
    });
  }

  test('a user name of 256 characters, with @ and UTF-8, is accepted as far as the name goes', () => {
    assert.throws(
      () => parseConfigText(user(`@${'ü'.repeat(255)}`), 'inline'),
      (error: unknown) => error instanceof ConfigError && error.issues.every((i) => i.key !== 'auth.users[0].name'),
    );
  });
});

describe('building the configuration', () => {
  test('allowlist: each cloud’s defaults minus the disabled ones, then operator entries', () => {
    const config = parseConfigText(
      [
        'cloud: [usgov, china, usgov]',
        'disabledDefaultHosts: ["*.azure-automation.us", "*.AZURE-automation.cn"]',
        'allowedHosts: ["crl.microsoft.com:80", "Global.Handler.Control.Monitor.Azure.com"]',
      ].join('\n'),
      'inline',
    );
    const disabled = ['*.azure-automation.us', '*.azure-automation.cn'];
    assert.deepEqual(config.policy.clouds, ['usgov', 'china']);
    assert.deepEqual(config.policy.disabledDefaults, disabled);
    assert.deepEqual(config.policy.allowlist, [
      ...enabledPresetEntries(INSTALLED_PRESETS, DEFAULT_AGENTS, ['usgov', 'china']).filter((entry) => !disabled.includes(entry.pattern)),
      { pattern: 'crl.microsoft.com', ports: [80], source: 'operator' },
      { pattern: 'global.handler.control.monitor.azure.com', ports: [443], source: 'operator' },
    ]);
  });

  test('defaultHosts: false leaves only operator entries', () => {
    const config = parseConfigText('defaultHosts: false\nallowedHosts: [a.example.com]\n', 'inline');
    assert.equal(config.policy.includeDefaults, false);
    assert.deepEqual(config.policy.allowlist, [{ pattern: 'a.example.com', ports: [443], source: 'operator' }]);
  });

  test('listeners, mappings, workspaces and address ranges are normalised', () => {
    const config = parseConfigText(
      [
        'listen: [127.0.0.1:0, "[::1]:0", "[0:0::0]:9090"]',
        'resolve: ["*.ODS.opinsights.azure.com=127.0.0.1:18443", "x.example.com=[::1]", "y.example.com=::1", "z.example.com=Origin.Example."]',
        'workspaces: [0D4F5E6A-1B2C-4D3E-8F9A-0B1C2D3E4F5A]',
        'deniedAddresses: ["fe80:0::/10", 192.0.2.7]',
      ].join('\n'),
      'inline',
    );
    assert.deepEqual(config.listen, [
      { host: '127.0.0.1', port: 0, optional: false },
      { host: '::1', port: 0, optional: false },
      { host: '::', port: 9090, optional: false },
    ]);
    assert.deepEqual(config.resolve, [
      { pattern: '*.ods.opinsights.azure.com', address: '127.0.0.1', port: 18443 },
      { pattern: 'x.example.com', address: '::1', port: undefined },
      { pattern: 'y.example.com', address: '::1', port: undefined },
      { pattern: 'z.example.com', address: 'origin.example', port: undefined },
    ]);
    assert.deepEqual(config.policy.workspaces, ['0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a']);
    assert.deepEqual(config.policy.deniedAddresses, ['fe80::/10', '192.0.2.7/32']);
  });

  test('basic mode with users, and UTF-8 user names', async () => {
    const { hashPassword } = await import('../../src/auth/password.js');
    const hash = await hashPassword('pässword:with@signs');
    const text = `auth:\n  mode: basic\n  users:\n    - name: "jürgen@corp"\n      passwordHash: "${hash}"\n`;
    const config = parseConfigText(text, 'inline');
    assert.equal(config.auth.mode, 'basic');
    assert.deepEqual(config.auth.users, [{ name: 'jürgen@corp', passwordHash: hash }]);
  });
});

describe('the result is deeply frozen', () => {
  function assertFrozen(value: unknown, path: string): void {
    if (typeof value !== 'object' || value === null) return;
    assert.ok(Object.isFrozen(value), `${path} is not frozen`);
    for (const [key, child] of Object.entries(value)) assertFrozen(child, `${path}.${key}`);
  }

  test('every nested object and list', () => {
    const config = parseConfigText('allowedHosts: [crl.microsoft.com:80]\nresolve: ["a.example.com=127.0.0.1"]\n', 'inline');
    assertFrozen(config, 'config');
  });

  test('writing to it throws instead of changing it', () => {
    const config = loadConfig({ path: undefined });
    const writable = config as { -readonly [K in keyof GatewayConfig]: GatewayConfig[K] };
    assert.throws(() => {
      writable.sourcePath = '/etc/passwd';
    }, TypeError);
    assert.throws(() => (config.policy.allowlist as unknown[]).push({}), TypeError);
    assert.throws(() => (config.policy.allowlist[0]?.ports as number[]).push(80), TypeError);
  });

  test('two loads share no object, so freezing one never touches a shared default', () => {
    const first = parseConfigText('', 'a');
    const second = parseConfigText('', 'b');
    assert.notEqual(first.listen, second.listen);
    assert.notEqual(first.listen[0], second.listen[0]);
    assert.notEqual(first.policy.deniedAddresses, second.policy.deniedAddresses);
  });
});

describe('reading the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oms-gateway-config-'));

  test('a missing file names the path and the reason', () => {
    const path = join(dir, 'missing.yaml');
    const error = loadError(path);
    assert.equal(error.message, `${path}: cannot read the configuration file: no such file or directory (ENOENT)`);
    assert.deepEqual(error.issues, [{ key: '', line: undefined, message: 'cannot read the configuration file: no such file or directory (ENOENT)' }]);
  });

  test('a directory names the path and the reason', () => {
    assert.equal(loadError(dir).message, `${dir}: cannot read the configuration file: illegal operation on a directory, read (EISDIR)`);
  });

  test('an unreadable file names the path and the reason', (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads files whatever their mode');
      return;
    }
    const path = join(dir, 'secret.yaml');
    writeFileSync(path, 'cloud: public\n');
    chmodSync(path, 0o000);
    assert.match(loadError(path).message, /: cannot read the configuration file: permission denied \(EACCES\)$/);
  });

  test('a readable file loads, with its path as sourcePath', () => {
    const path = join(dir, 'gateway.yaml');
    writeFileSync(path, '\uFEFFcloud: china\n');
    const config = loadConfig({ path });
    assert.equal(config.sourcePath, path);
    assert.deepEqual(config.policy.clouds, ['china']);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));
});

describe('files holding secrets that other users can read (issue 16)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oms-gateway-exposed-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const HASH = DUMMY_PASSWORD_HASH;
  const exposedBy = (path: string): ExposedSecrets[] => {
    const found: ExposedSecrets[] = [];
    loadConfig({ path, onExposedSecrets: (exposed) => found.push(exposed) });
    return found;
  };
  const write = (name: string, text: string, mode: number): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };

  test('a configuration with password hashes: warned about at 0644 and 0640, not at 0600 or 0400', () => {
    const text = `auth:\n  mode: basic\n  users:\n    - name: agent\n      passwordHash: "${HASH}"\n`;
    for (const mode of [0o644, 0o640, 0o604]) {
      const path = write('users-inline.yaml', text, mode);
      assert.deepEqual(exposedBy(path), [{ file: path, mode: `0${mode.toString(8)}`, holds: ['password hashes'] }], mode.toString(8));
    }
    for (const mode of [0o600, 0o400]) assert.deepEqual(exposedBy(write('users-inline.yaml', text, mode)), [], mode.toString(8));
  });

  test('auth.usersFile and the relay proxy password are looked at too; a file without secrets is not', () => {
    const users = write('users.yaml', `auth:\n  users:\n    - name: agent\n      passwordHash: "${HASH}"\n`, 0o640);
    const main = write('main.yaml', `auth:\n  mode: basic\n  usersFile: ${users}\nrelayProxy:\n  url: http://relay.example:3128\n  username: gw\n  password: relay-secret\n`, 0o644);
    assert.deepEqual(exposedBy(main), [
      { file: main, mode: '0644', holds: ['the relay proxy password'] },
      { file: users, mode: '0640', holds: ['password hashes'] },
    ]);
    assert.deepEqual(exposedBy(write('plain.yaml', 'cloud: public\n', 0o644)), []);
    const message = exposedSecretsMessage({ file: users, mode: '0640', holds: ['password hashes'] });
    assert.match(message, /users\.yaml holds password hashes and can be read by other users \(mode 0640\): `chmod 600 /);
    assert.ok(!message.includes(HASH) && !message.includes('relay-secret'));
  });
});

describe('resolveConfigPath', () => {
  const cases: [string, string | undefined, NodeJS.ProcessEnv, string | undefined][] = [
    ['--config wins over the environment', '/a.yaml', { OMS_GATEWAY_CONFIG: '/b.yaml' }, '/a.yaml'],
    ['the environment when there is no flag', undefined, { OMS_GATEWAY_CONFIG: '/b.yaml' }, '/b.yaml'],
    ['an empty variable counts as unset', undefined, { OMS_GATEWAY_CONFIG: '' }, undefined],
    ['neither: the embedded default', undefined, {}, undefined],
  ];
  for (const [name, flag, env, expected] of cases) {
    test(name, () => assert.equal(resolveConfigPath(flag, env), expected));
  }
});
