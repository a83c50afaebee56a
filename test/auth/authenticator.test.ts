import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { createAuthenticator, proxyAuthenticateHeader, type AuthResult } from '../../src/auth/authenticator.js';
import { hashPassword } from '../../src/auth/password.js';
import type { AuthConfig, UserConfig } from '../../src/auth/config-types.js';

const ACCOUNTS = [
  { name: 'agent', password: 'correct horse' },
  { name: 'ops@contoso.com', password: 'p@ss:w0rd:@' },
  { name: 'José Müller', password: 'naïve 🔑 pass' },
] as const;

function basic(name: string, password: string, scheme = 'Basic'): string {
  return `${scheme} ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * Whether `promise` settled before the event loop's next check phase. A scrypt runs on the thread pool and its
 * result comes back through the event loop, so a verification settling this early cannot have hashed anything.
 */
async function answeredWithoutHashing(promise: Promise<AuthResult>): Promise<boolean> {
  let settled = false;
  const observed = promise.finally(() => {
    settled = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  const early = settled;
  await observed;
  return early;
}

async function elapsedMs(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const AGENT_OK: AuthResult = { ok: true, user: 'agent' };
const BAD_CREDENTIALS: AuthResult = { ok: false, reason: 'bad-credentials' };

let users: UserConfig[] = [];

before(async () => {
  users = await Promise.all(
    ACCOUNTS.map(async ({ name, password }) => ({ name, passwordHash: await hashPassword(password) })),
  );
});

function basicConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  const throttle = {
    failuresBeforeDelay: 3,
    delaySeconds: 0.5,
    maxDelaySeconds: 8,
    lockoutFailures: 10,
    lockoutSeconds: 300,
    windowSeconds: 900,
    maxTracked: 100,
    maxConcurrentPerClient: 4,
    maxConcurrentPerUser: 4,
    trustedSources: [],
    knownSourceSeconds: 86_400,
  };
  return { mode: 'basic', realm: 'oms-gateway', users, cacheMaxEntries: 100, cacheTtlSeconds: 300, throttle, ...overrides };
}

describe('anonymous mode', () => {
  const authenticator = createAuthenticator({ ...basicConfig(), mode: 'anonymous' });

  test('exposes its mode and realm', () => {
    assert.equal(authenticator.mode, 'anonymous');
    assert.equal(authenticator.realm, 'oms-gateway');
  });

  const headers: [string, string | undefined][] = [
    ['no header', undefined],
    ['garbage', 'garbage'],
    ['another scheme', 'Bearer abc.def'],
    ['a wrong password', basic('agent', 'wrong')],
    ['a right password', basic('agent', 'correct horse')],
  ];
  for (const [name, header] of headers) {
    test(`lets everyone in without a user, ignoring ${name}`, async () => {
      assert.deepEqual(await authenticator.authenticate(header), { ok: true, user: undefined });
    });
  }
});

describe('basic mode', () => {
  test('exposes its mode and realm', () => {
    const authenticator = createAuthenticator(basicConfig({ realm: 'datacenter 7' }));
    assert.equal(authenticator.mode, 'basic');
    assert.equal(authenticator.realm, 'datacenter 7');
  });

  const latin1Jose = `Basic ${Buffer.from('José Müller:naïve', 'latin1').toString('base64')}`;
  const cases: [string, string | undefined, AuthResult][] = [
    ['right password', basic('agent', 'correct horse'), AGENT_OK],
    ['scheme in lower case', basic('agent', 'correct horse', 'basic'), AGENT_OK],
    ['scheme in capitals', basic('agent', 'correct horse', 'BASIC'), AGENT_OK],
    ['spaces around the credentials', `  ${basic('agent', 'correct horse', 'Basic  ')}  `, AGENT_OK],
    ['@ in the name, : and @ in the password', basic('ops@contoso.com', 'p@ss:w0rd:@'), { ok: true, user: 'ops@contoso.com' }],
    ['UTF-8 name and emoji password', basic('José Müller', 'naïve 🔑 pass'), { ok: true, user: 'José Müller' }],
    ['wrong password', basic('agent', 'correct horsE'), BAD_CREDENTIALS],
    ['password of another user', basic('agent', 'p@ss:w0rd:@'), BAD_CREDENTIALS],
    ['unknown user', basic('nobody', 'correct horse'), BAD_CREDENTIALS],
    ['name differing in case', basic('Agent', 'correct horse'), BAD_CREDENTIALS],
    ['empty name and password', basic('', ''), BAD_CREDENTIALS],
    ['no header', undefined, { ok: false, reason: 'missing' }],
    ['empty header', '', { ok: false, reason: 'malformed' }],
    ['scheme without credentials', 'Basic', { ok: false, reason: 'malformed' }],
    ['credentials that are not base64', 'Basic !!!not-base64!!!', { ok: false, reason: 'malformed' }],
    ['credentials without a colon', `Basic ${Buffer.from('agentcorrect horse').toString('base64')}`, { ok: false, reason: 'malformed' }],
    ['text after the credentials', `${basic('agent', 'correct horse')} extra`, { ok: false, reason: 'malformed' }],
    ['credentials in Latin-1, not UTF-8', latin1Jose, { ok: false, reason: 'malformed' }],
    ['Bearer scheme', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln', { ok: false, reason: 'unsupported-scheme' }],
    ['Digest scheme', 'Digest username="agent", realm="oms-gateway"', { ok: false, reason: 'unsupported-scheme' }],
    ['scheme glued to the credentials', `Basic:${basic('agent', 'correct horse', '')}`, { ok: false, reason: 'unsupported-scheme' }],
  ];

  for (const [name, header, expected] of cases) {
    test(`${name} → ${expected.ok ? `user ${String(expected.user)}` : expected.reason}`, async () => {
      const authenticator = createAuthenticator(basicConfig());
      assert.deepEqual(await authenticator.authenticate(header), expected);
    });
  }

  test('with no users configured nobody gets in', async () => {
    const authenticator = createAuthenticator(basicConfig({ users: [] }));
    assert.deepEqual(await authenticator.authenticate(basic('agent', 'correct horse')), BAD_CREDENTIALS);
  });
});

describe('verification cache', () => {
  const header = basic('agent', 'correct horse');

  test('a repeated header is answered without hashing, 20 times over', async () => {
    const authenticator = createAuthenticator(basicConfig());
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), false);
    for (let call = 0; call < 20; call += 1) {
      assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), true, `call ${call}`);
    }
    assert.deepEqual(await authenticator.authenticate(header), AGENT_OK);
  });

  test('20 cached calls together take less time than one verification', async () => {
    const authenticator = createAuthenticator(basicConfig());
    const uncached = await elapsedMs(() => authenticator.authenticate(header));
    const cached = await elapsedMs(async () => {
      for (let call = 0; call < 20; call += 1) await authenticator.authenticate(header);
    });
    assert.ok(cached < uncached, `20 cached calls ${cached.toFixed(2)} ms, one verification ${uncached.toFixed(2)} ms`);
  });

  test('failures are not cached, and do not spoil a later success', async () => {
    const authenticator = createAuthenticator(basicConfig());
    const wrong = basic('agent', 'wrong');
    assert.deepEqual(await authenticator.authenticate(wrong), BAD_CREDENTIALS);
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(wrong)), false);
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), false);
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), true);
  });

  test('an entry expires after cacheTtlSeconds', async () => {
    const authenticator = createAuthenticator(basicConfig({ cacheTtlSeconds: 0.2 }));
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), false);
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), true);
    await sleep(400);
    const afterExpiry = authenticator.authenticate(header);
    assert.equal(await answeredWithoutHashing(afterExpiry), false);
    assert.deepEqual(await afterExpiry, AGENT_OK);
  });

  test('cacheTtlSeconds counts from the last use: credentials in use stay verified', async () => {
    const authenticator = createAuthenticator(basicConfig({ cacheTtlSeconds: 1 }));
    assert.deepEqual(await authenticator.authenticate(header), AGENT_OK);
    // 1.5 s after the check, but never more than 0.5 s after the last use.
    for (let i = 0; i < 3; i++) {
      await sleep(500);
      assert.equal(authenticator.remembered(header), 'agent', `use ${i + 1}`);
    }
    await sleep(1300);
    assert.equal(authenticator.remembered(header), undefined);
  });

  test('holds at most cacheMaxEntries, dropping the least recently used', async () => {
    const authenticator = createAuthenticator(basicConfig({ cacheMaxEntries: 1 }));
    const other = basic('ops@contoso.com', 'p@ss:w0rd:@');
    await authenticator.authenticate(header);
    await authenticator.authenticate(other);
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(other)), true);
    assert.equal(await answeredWithoutHashing(authenticator.authenticate(header)), false);
  });

  for (const disabled of [{ cacheTtlSeconds: 0 }, { cacheMaxEntries: 0 }]) {
    test(`${JSON.stringify(disabled)} turns caching off`, async () => {
      const authenticator = createAuthenticator(basicConfig(disabled));
      assert.deepEqual(await authenticator.authenticate(header), AGENT_OK);
      const again = authenticator.authenticate(header);
      assert.equal(await answeredWithoutHashing(again), false);
      assert.deepEqual(await again, AGENT_OK);
    });
  }
});

describe('concurrent verifications', () => {
  test('calls with the same header share one verification', async () => {
    const authenticator = createAuthenticator(basicConfig());
    const header = basic('agent', 'correct horse');
    const calls = Array.from({ length: 8 }, () => authenticator.authenticate(header));
    for (const call of calls) assert.equal(call, calls[0]);
    assert.deepEqual(await Promise.all(calls), Array.from({ length: 8 }, () => AGENT_OK));
  });

  test('checking() hands out the verification under way, and nothing once it has settled', async () => {
    const authenticator = createAuthenticator(basicConfig());
    const header = basic('agent', 'correct horse');
    assert.equal(authenticator.checking(header), undefined);
    const call = authenticator.authenticate(header);
    assert.equal(authenticator.checking(header), call);
    assert.equal(authenticator.checking(basic('agent', 'other')), undefined);
    await call;
    assert.equal(authenticator.checking(header), undefined);
  });

  test('a shared failure is verified afresh once it has settled', async () => {
    const authenticator = createAuthenticator(basicConfig());
    const wrong = basic('agent', 'wrong');
    const first = authenticator.authenticate(wrong);
    assert.equal(authenticator.authenticate(wrong), first);
    assert.deepEqual(await first, BAD_CREDENTIALS);
    const later = authenticator.authenticate(wrong);
    assert.notEqual(later, first);
    assert.equal(await answeredWithoutHashing(later), false);
  });

  test('different headers are verified separately', async () => {
    const authenticator = createAuthenticator(basicConfig());
    const right = authenticator.authenticate(basic('agent', 'correct horse'));
    const wrong = authenticator.authenticate(basic('agent', 'wrong'));
    assert.notEqual(right, wrong);
    assert.deepEqual(await Promise.all([right, wrong]), [AGENT_OK, BAD_CREDENTIALS]);
  });
});

test('an unknown user takes about as long as a wrong password (medians of 5, within 3x)', async () => {
  const authenticator = createAuthenticator(basicConfig());
  const unknownUser: number[] = [];
  const wrongPassword: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    unknownUser.push(await elapsedMs(() => authenticator.authenticate(basic('nobody', 'correct horse'))));
    wrongPassword.push(await elapsedMs(() => authenticator.authenticate(basic('agent', 'wrong'))));
  }
  const ratio = median(unknownUser) / median(wrongPassword);
  assert.ok(ratio > 1 / 3 && ratio < 3, `unknown ${unknownUser.join(', ')} ms; wrong ${wrongPassword.join(', ')} ms`);
});

describe('proxyAuthenticateHeader', () => {
  const rows: [string, string, string][] = [
    ['the default realm', 'oms-gateway', 'Basic realm="oms-gateway"'],
    ['spaces', 'OMS gateway, site 2', 'Basic realm="OMS gateway, site 2"'],
    ['the empty realm', '', 'Basic realm=""'],
    ['double quotes', 'say "hi"', 'Basic realm="say \\"hi\\""'],
    ['backslashes', 'C:\\gateway\\', 'Basic realm="C:\\\\gateway\\\\"'],
    ['CR LF header injection', 'x\r\nSet-Cookie: a=b', 'Basic realm="x??Set-Cookie: a=b"'],
    ['non-ASCII', 'Passerelle é', 'Basic realm="Passerelle ?"'],
  ];
  for (const [name, realm, expected] of rows) {
    test(`quotes ${name}`, () => {
      assert.equal(proxyAuthenticateHeader(realm), expected);
    });
  }

  test('always yields one valid header value holding one RFC 9110 quoted-string', () => {
    const quotedString = /^Basic realm="(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"$/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (realm) => {
        const value = proxyAuthenticateHeader(realm);
        assert.match(value, quotedString);
        assert.doesNotThrow(() => validateHeaderValue('Proxy-Authenticate', value));
      }),
    );
  });

  test('printable ASCII realms survive unquoting unchanged', () => {
    const printableAscii = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
    fc.assert(
      fc.property(fc.string({ unit: printableAscii }), (realm) => {
        const quoted = proxyAuthenticateHeader(realm).slice('Basic realm="'.length, -1);
        assert.equal(quoted.replace(/\\(.)/g, '$1'), realm);
      }),
    );
  });
});
