// Certificates and requests made with node-forge, checked by other implementations: node:crypto (OpenSSL in
// process) and the openssl command, as a CA or a client would check them.

import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CertificateToolError, createCertificateRequest, describeCertificateRequest, generateCertificates } from '../../src/tls/certs.js';
import { parseSubjectPattern } from '../../src/tls/subjects.js';
import { requireCommand } from '../fixtures/tools.js';

const execFileAsync = promisify(execFile);
const DAY_MS = 24 * 60 * 60 * 1000;

function subject(text: string) {
  const parsed = parseSubjectPattern(text);
  assert.ok(parsed.ok);
  return parsed.pattern.attributes;
}

describe('certificates and requests', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-certs-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('generate: a CA and a server certificate for names and addresses that openssl verifies', async () => {
    requireCommand('openssl');
    const pki = generateCertificates({ hosts: ['gw.example.net', '10.0.0.5', '::1'], keySize: 3072, days: 100, caDays: 1000 });
    const ca = new X509Certificate(pki.caCertPem);
    const cert = new X509Certificate(pki.certPem);
    assert.ok(ca.ca);
    assert.ok(!cert.ca);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.equal(cert.checkHost('gw.example.net'), 'gw.example.net');
    assert.equal(cert.checkIP('10.0.0.5'), '10.0.0.5');
    assert.equal(cert.checkIP('::1'), '::1');
    assert.equal(cert.checkHost('other.example.net'), undefined);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
    assert.ok(cert.checkPrivateKey(createPrivateKey(pki.keyPem)));
    const days = (Date.parse(cert.validTo) - Date.now()) / DAY_MS;
    assert.ok(days > 99 && days <= 100, `valid for ${days} days`);
    assert.notEqual(ca.serialNumber, cert.serialNumber);

    await writeFile(join(dir, 'ca.crt'), pki.caCertPem);
    await writeFile(join(dir, 'gateway.crt'), pki.certPem);
    const { stdout } = await execFileAsync('openssl', ['verify', '-purpose', 'sslserver', '-x509_strict', '-CAfile', join(dir, 'ca.crt'), join(dir, 'gateway.crt')]);
    assert.match(stdout, /gateway\.crt: OK/);
  });

  test('generate with an existing CA: signed by it, and its key is not written again', () => {
    const first = generateCertificates({ hosts: ['a.test'], keySize: 2048, days: 10, caDays: 10 });
    const caKeyPem = first.caKeyPem ?? assert.fail('a new CA comes with its key');
    const second = generateCertificates({ hosts: ['b.test'], keySize: 2048, days: 10, caDays: 10, ca: { certPem: first.caCertPem, keyPem: caKeyPem } });
    assert.equal(second.caKeyPem, undefined);
    assert.equal(second.caCertPem.trim(), first.caCertPem.trim());
    assert.ok(new X509Certificate(second.certPem).verify(new X509Certificate(first.caCertPem).publicKey));
  });

  test("generate refuses a CA key that is not RSA, or that is not the CA certificate's", () => {
    const pki = generateCertificates({ hosts: ['a.test'], keySize: 2048, days: 10, caDays: 10 });
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => generateCertificates({ hosts: ['b.test'], keySize: 2048, days: 10, caDays: 10, ca: { certPem: pki.caCertPem, keyPem: ecKey } }), (err: unknown) => err instanceof CertificateToolError && /the CA key: the key is ec/.test(err.message));
    assert.throws(() => generateCertificates({ hosts: ['b.test'], keySize: 2048, days: 10, caDays: 10, ca: { certPem: pki.caCertPem, keyPem: otherKey } }), /does not belong to the CA certificate/);
    assert.throws(() => generateCertificates({ hosts: [], keySize: 2048, days: 10, caDays: 10 }), /at least one host/);
  });

  test('request: a CSR that openssl reads and verifies, subject in the order written, hosts as SANs', async () => {
    requireCommand('openssl');
    const made = createCertificateRequest({ hosts: ['gw.example.net', '10.0.0.5'], subject: subject('CN=gw.example.net, OU=Monitoring, O=Contoso, C=DE'), keySize: 2048 });
    assert.ok(made.keyPem?.includes('BEGIN PRIVATE KEY'));
    const csrFile = join(dir, 'gateway.csr');
    await writeFile(csrFile, made.csrPem);
    const { stdout, stderr } = await execFileAsync('openssl', ['req', '-in', csrFile, '-noout', '-verify', '-subject', '-text']);
    assert.match(`${stdout}${stderr}`, /verify OK/);
    assert.match(stdout, /subject=C = DE, O = Contoso, OU = Monitoring, CN = gw\.example\.net/);
    assert.match(stdout, /DNS:gw\.example\.net, IP Address:10\.0\.0\.5/);
    assert.deepEqual(describeCertificateRequest(made.csrPem), {
      subject: 'CN=gw.example.net, OU=Monitoring, O=Contoso, C=DE',
      subjectAltNames: ['DNS:gw.example.net', 'IP Address:10.0.0.5'],
      publicKey: 'RSA 2048 bits',
      signatureValid: true,
    });
  });

  test('request with an existing key: the CSR carries that key, and no new key is returned', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const made = createCertificateRequest({ hosts: [], subject: subject('CN=gw'), keySize: 2048, keyPem: key.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() });
    assert.equal(made.keyPem, undefined);
    assert.ok(describeCertificateRequest(made.csrPem).signatureValid);
    assert.throws(() => createCertificateRequest({ hosts: [], subject: subject('DC=example'), keySize: 2048 }), /attribute DC cannot be put in a request/);
  });
});
