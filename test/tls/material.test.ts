// The certificate, key and client-CA checks a TLS listener runs before serving: each way a pair can be
// unusable is refused with the file named and the fix said.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateCertificates } from '../../src/tls/certs.js';
import { DEFAULT_CIPHERS, isCipherList, loadTlsMaterial, secureContextOptions, TlsMaterialError, type MaterialFiles } from '../../src/tls/material.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('TLS material', () => {
  let dir: string;
  let good: MaterialFiles;
  let otherKey: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-material-'));
    const pki = generateCertificates({ hosts: ['gateway.test'], keySize: 2048, days: 30, caDays: 60 });
    const other = generateCertificates({ hosts: ['other.test'], keySize: 2048, days: 30, caDays: 60 });
    const caFile = join(dir, 'ca.crt');
    good = { cert: join(dir, 'gateway.crt'), key: join(dir, 'gateway.key'), ca: caFile };
    otherKey = join(dir, 'other.key');
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' });
    await Promise.all([
      writeFile(good.cert, pki.certPem),
      writeFile(good.key, pki.keyPem, { mode: 0o600 }),
      writeFile(caFile, pki.caCertPem),
      writeFile(otherKey, other.keyPem),
      writeFile(join(dir, 'garbage.pem'), 'not a certificate\n'),
      writeFile(join(dir, 'encrypted.key'), encrypted),
      mkdir(join(dir, 'a-directory')),
    ]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a matching, valid pair loads, with the CA that expires first', () => {
    const material = loadTlsMaterial(good);
    assert.equal(material.certificate.subject.split('\n')[0], 'CN=gateway.test');
    assert.ok(material.firstExpiringCa?.ca);
    const options = secureContextOptions(material, { minVersion: 'TLSv1.2', ciphers: DEFAULT_CIPHERS });
    assert.equal(options.minVersion, 'TLSv1.2');
    assert.equal(options.honorCipherOrder, true);
  });

  const refusals: readonly { name: string; files: () => MaterialFiles; now?: Date; field: string; problem: string; message: RegExp }[] = [
    { name: 'a missing certificate', files: () => ({ ...good, cert: join(dir, 'nope.crt') }), field: 'cert', problem: 'missing', message: /nope\.crt does not exist; make a pair with `oms-gateway cert generate`/ },
    { name: 'a missing key', files: () => ({ ...good, key: join(dir, 'nope.key') }), field: 'key', problem: 'missing', message: /nope\.key does not exist/ },
    { name: 'a missing client CA', files: () => ({ ...good, ca: join(dir, 'nope-ca.crt') }), field: 'ca', problem: 'missing', message: /give the CA certificate/ },
    { name: 'an unreadable certificate', files: () => ({ ...good, cert: join(dir, 'a-directory') }), field: 'cert', problem: 'unreadable', message: /cannot be read \(EISDIR\); the gateway's user needs read access/ },
    { name: 'a certificate file without PEM', files: () => ({ ...good, cert: join(dir, 'garbage.pem') }), field: 'cert', problem: 'not-pem', message: /holds no PEM certificate/ },
    { name: 'a key file without a key', files: () => ({ ...good, key: join(dir, 'garbage.pem') }), field: 'key', problem: 'not-pem', message: /holds no PEM private key/ },
    { name: 'a passphrase-protected key', files: () => ({ ...good, key: join(dir, 'encrypted.key') }), field: 'key', problem: 'encrypted-key', message: /protected by a passphrase/ },
    { name: 'the key of another certificate', files: () => ({ ...good, key: otherKey }), field: 'key', problem: 'mismatched', message: /other\.key is not the private key of the certificate .*gateway\.crt/ },
    { name: 'an expired certificate', files: () => good, now: new Date(Date.now() + 31 * DAY_MS), field: 'cert', problem: 'expired', message: /gateway\.crt expired on \d{4}-\d\d-\d\dT.*; renew it/ },
    { name: 'a certificate not valid yet', files: () => good, now: new Date(Date.now() - 2 * DAY_MS), field: 'cert', problem: 'not-yet-valid', message: /is not valid before .*check the clock/ },
  ];
  for (const { name, files, now, field, problem, message } of refusals) {
    test(`${name} is refused`, () => {
      assert.throws(
        () => loadTlsMaterial(files(), now),
        (err: unknown) => {
          assert.ok(err instanceof TlsMaterialError);
          assert.equal(err.field, field);
          assert.equal(err.problem, problem);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('a cipher list OpenSSL does not know is refused', () => {
    assert.equal(isCipherList(DEFAULT_CIPHERS), true);
    assert.equal(isCipherList('ECDHE-RSA-AES128-GCM-SHA256'), true);
    assert.equal(isCipherList('NOT-A-CIPHER'), false);
    assert.throws(() => secureContextOptions(loadTlsMaterial(good), { minVersion: 'TLSv1.2', ciphers: 'NOT-A-CIPHER' }), /OpenSSL refused/);
  });
});
