import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashPassword, isPasswordHash, verifyPassword } from '../../src/auth/password.js';

const b64 = (bytes: number, fill = 7): string => Buffer.alloc(bytes, fill).toString('base64');

// RFC 7914 section 12, third test vector: P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1, dkLen=64.
const RFC7914_KEY_HEX =
  '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2' +
  'd5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887';
const RFC7914_HASH = [
  'scrypt',
  16384,
  8,
  1,
  Buffer.from('SodiumChloride').toString('base64'),
  Buffer.from(RFC7914_KEY_HEX, 'hex').toString('base64'),
].join('$');

describe('hashPassword / verifyPassword', () => {
  const passwords: [string, string][] = [
    ['plain ASCII', 'correct horse battery staple'],
    ['@ and :', 'p@ss:w0rd:@'],
    ['non-ASCII', 'mot de passe é ü ß 密码'],
    ['emoji outside the BMP', 'key 🔑 and 🙂'],
    ['spaces kept as typed', '  padded  '],
    ['empty', ''],
  ];

  for (const [name, password] of passwords) {
    test(`round trip: ${name}`, async () => {
      const encoded = await hashPassword(password);
      assert.equal(isPasswordHash(encoded), true);
      assert.equal(await verifyPassword(password, encoded), true);
      assert.equal(await verifyPassword(`${password}x`, encoded), false);
    });
  }

  test('writes scrypt$32768$8$1$ with a 16-byte salt and a 32-byte key, never the password', async () => {
    const encoded = await hashPassword('p@ss:word');
    assert.match(encoded, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    assert.equal(encoded.includes('p@ss'), false);
  });

  test('salts every hash afresh', async () => {
    const [first, second] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    assert.notEqual(first, second);
    assert.equal(await verifyPassword('same', second), true);
  });

  test('refuses near misses of the right password', async () => {
    const encoded = await hashPassword('Secret@Gateway:1');
    for (const wrong of ['secret@gateway:1', 'Secret@Gateway:1 ', 'Secret@Gateway', 'Secret＠Gateway:1']) {
      assert.equal(await verifyPassword(wrong, encoded), false, wrong);
    }
  });

  test('compares exact UTF-8 bytes: precomposed é and e + combining accent differ', async () => {
    const encoded = await hashPassword('caf\u00e9');
    assert.equal(await verifyPassword('caf\u00e9', encoded), true);
    assert.equal(await verifyPassword('cafe\u0301', encoded), false);
  });

  test('agrees with the RFC 7914 test vector, parameters read from the string', async () => {
    assert.equal(await verifyPassword('pleaseletmein', RFC7914_HASH), true);
    assert.equal(await verifyPassword('pleaseletmeout', RFC7914_HASH), false);
  });

  test('a tampered hash no longer verifies', async () => {
    const encoded = await hashPassword('hunter2');
    const [, , , , salt = '', key = ''] = encoded.split('$');
    const flipFirst = (text: string): string => (text.startsWith('A') ? 'B' : 'A') + text.slice(1);
    const tampered = {
      key: encoded.replace(key, flipFirst(key)),
      salt: encoded.replace(salt, flipFirst(salt)),
      N: encoded.replace('scrypt$32768$', 'scrypt$16384$'),
      r: encoded.replace('$8$1$', '$9$1$'),
      p: encoded.replace('$8$1$', '$8$2$'),
    };
    for (const [field, text] of Object.entries(tampered)) {
      assert.notEqual(text, encoded, field);
      assert.equal(isPasswordHash(text), true, field);
      assert.equal(await verifyPassword('hunter2', text), false, field);
    }
  });

  test('anything that is not a usable hash verifies nothing', async () => {
    for (const text of ['', 'hunter2', 'scrypt$1048576$8$1$' + b64(16) + '$' + b64(32)]) {
      assert.equal(await verifyPassword(text, text), false, text);
    }
  });
});

describe('isPasswordHash', () => {
  const salt = b64(16);
  const key = b64(32);
  const rows: [string, string, boolean][] = [
    ['default cost', `scrypt$32768$8$1$${salt}$${key}`, true],
    ['RFC 7914 vector (14-byte salt, 64-byte key)', RFC7914_HASH, true],
    ['floor N=2^14', `scrypt$16384$8$1$${salt}$${key}`, true],
    ['OWASP N=2^17 r=8 (128 MiB)', `scrypt$131072$8$1$${salt}$${key}`, true],
    ['smallest salt (8 bytes) and key (16 bytes)', `scrypt$32768$8$1$${b64(8)}$${b64(16)}`, true],
    ['largest salt and key (64 bytes)', `scrypt$32768$8$1$${b64(64)}$${b64(64)}`, true],
    ['empty', '', false],
    ['a plain password', 'correct horse battery staple', false],
    ['another algorithm', `bcrypt$32768$8$1$${salt}$${key}`, false],
    ['algorithm name in capitals', `SCRYPT$32768$8$1$${salt}$${key}`, false],
    ['leading $', `$scrypt$32768$8$1$${salt}$${key}`, false],
    ['trailing newline', `scrypt$32768$8$1$${salt}$${key}\n`, false],
    ['missing field', `scrypt$32768$8$${salt}$${key}`, false],
    ['extra field', `scrypt$32768$8$1$${salt}$${key}$`, false],
    ['N not a power of two', `scrypt$30000$8$1$${salt}$${key}`, false],
    ['N below the floor', `scrypt$1024$8$1$${salt}$${key}`, false],
    ['N absurd (2^30)', `scrypt$1073741824$8$1$${salt}$${key}`, false],
    ['memory above 256 MiB (N=2^18, r=8)', `scrypt$262144$8$1$${salt}$${key}`, false],
    ['r zero', `scrypt$32768$0$1$${salt}$${key}`, false],
    ['r absurd', `scrypt$16384$1000$1$${salt}$${key}`, false],
    ['p zero', `scrypt$32768$8$0$${salt}$${key}`, false],
    ['p absurd', `scrypt$16384$8$64$${salt}$${key}`, false],
    ['work above the cap (N=2^16, r=8, p=16)', `scrypt$65536$8$16$${salt}$${key}`, false],
    ['leading zero', `scrypt$32768$08$1$${salt}$${key}`, false],
    ['signed number', `scrypt$32768$+8$1$${salt}$${key}`, false],
    ['decimal point', `scrypt$32768$8.0$1$${salt}$${key}`, false],
    ['hexadecimal', `scrypt$0x8000$8$1$${salt}$${key}`, false],
    ['salt not base64', `scrypt$32768$8$1$!!!!$${key}`, false],
    ['salt base64url', `scrypt$32768$8$1$${Buffer.alloc(16, 0xfb).toString('base64url')}$${key}`, false],
    ['salt without padding', `scrypt$32768$8$1$${salt.replace(/=+$/, '')}$${key}`, false],
    ['salt too short (4 bytes)', `scrypt$32768$8$1$${b64(4)}$${key}`, false],
    ['salt too long (65 bytes)', `scrypt$32768$8$1$${b64(65)}$${key}`, false],
    ['key too short (8 bytes)', `scrypt$32768$8$1$${salt}$${b64(8)}`, false],
    ['key too long (128 bytes)', `scrypt$32768$8$1$${salt}$${b64(128)}`, false],
    ['empty key', `scrypt$32768$8$1$${salt}$`, false],
  ];

  for (const [name, text, expected] of rows) {
    test(`${name} → ${expected}`, () => {
      assert.equal(isPasswordHash(text), expected);
    });
  }
});
