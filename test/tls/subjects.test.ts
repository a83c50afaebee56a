// How allowedClientCertificates and clientAuth.subjects entries are read, and which certificates they admit:
// the Linux agent's certificate (made by openssl as omsadmin.sh makes it) against the forms operators write.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { before, describe, test } from 'node:test';
import forge from 'node-forge';
import { EMPTY_SUBJECT, findMatch, parseSubjectPattern, subjectMatches, subjectOf, type CertificateSubject } from '../../src/tls/subjects.js';
import { agentCertificate, AGENT_GUID, AGENT_WORKSPACE } from './capture.js';

function pattern(text: string) {
  const parsed = parseSubjectPattern(text);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  return parsed.pattern;
}

describe('parsing subject entries', () => {
  const good: readonly { text: string; attributes: [string, string][] }[] = [
    { text: `CN=${AGENT_WORKSPACE}`, attributes: [['CN', AGENT_WORKSPACE]] },
    { text: 'CN=a, CN=b, OU=Linux Monitoring Agent, O=Microsoft', attributes: [['CN', 'a'], ['CN', 'b'], ['OU', 'linux monitoring agent'], ['O', 'microsoft']] },
    { text: 'CN = a , O = Microsoft', attributes: [['CN', 'a'], ['O', 'microsoft']] },
    { text: 'commonName=a,organizationName=b', attributes: [['CN', 'a'], ['O', 'b']] },
    { text: 'E=ops@example.com, S=Bavaria', attributes: [['EMAILADDRESS', 'ops@example.com'], ['ST', 'bavaria']] },
    { text: 'O="Contoso, Ltd", CN=x', attributes: [['O', 'contoso, ltd'], ['CN', 'x']] },
    { text: 'O=Contoso\\, Ltd', attributes: [['O', 'contoso, ltd']] },
    { text: 'CN=caf\\C3\\A9', attributes: [['CN', 'café']] },
    { text: 'CN=a+OU=b', attributes: [['CN', 'a'], ['OU', 'b']] },
    { text: '2.5.4.3=a', attributes: [['2.5.4.3', 'a']] },
  ];
  for (const { text, attributes } of good) {
    test(`"${text}"`, () => {
      assert.deepEqual(pattern(text).attributes.map((a) => [a.type, a.value]), attributes);
    });
  }

  const bad: readonly { text: string; because: RegExp }[] = [
    { text: '', because: /empty/ },
    { text: 'just-a-name', because: /TYPE=value/ },
    { text: 'XX=a', because: /unknown attribute type "XX"/ },
    { text: 'CN=', because: /value of CN is empty/ },
    { text: 'CN=a,', because: /ends with a separator/ },
    { text: 'O="open', because: /not closed/ },
    { text: 'O="a" b', because: /follows a quoted value/ },
    { text: 'CN=a\\', because: /lone backslash/ },
    { text: `CN=${'x'.repeat(1100)}`, because: /longer than/ },
  ];
  for (const { text, because } of bad) {
    test(`"${text.slice(0, 40)}" is refused, with an example of the expected form`, () => {
      const parsed = parseSubjectPattern(text);
      assert.equal(parsed.ok, false);
      assert.match(parsed.ok ? '' : parsed.message, because);
      assert.match(parsed.ok ? '' : parsed.message, /Linux Monitoring Agent/);
    });
  }

  test('the entry keeps the case it was written in, for certificate requests', () => {
    assert.deepEqual(pattern('CN=Gateway.Contoso.COM, O=Contoso').attributes.map((a) => a.written), ['Gateway.Contoso.COM', 'Contoso']);
  });
});

describe('matching the Linux agent certificate', () => {
  let subject: CertificateSubject;
  before(async () => {
    subject = subjectOf(new X509Certificate((await agentCertificate()).certPem));
  });

  test('its subject reads as Windows prints it', () => {
    assert.equal(subject.text, `CN=${AGENT_WORKSPACE}, CN=${AGENT_GUID}, OU=Linux Monitoring Agent, O=Microsoft`);
  });

  const cases: readonly { entry: string; matches: boolean }[] = [
    { entry: `CN=${AGENT_WORKSPACE}`, matches: true },
    { entry: `CN=${AGENT_WORKSPACE.toUpperCase()}`, matches: true },
    { entry: `CN=${AGENT_GUID}`, matches: true },
    { entry: `CN=${AGENT_WORKSPACE}, CN=${AGENT_GUID}, OU=Linux Monitoring Agent, O=Microsoft`, matches: true },
    { entry: `O=Microsoft, OU=Linux Monitoring Agent, CN=${AGENT_GUID}, CN=${AGENT_WORKSPACE}`, matches: true },
    { entry: 'OU=Linux Monitoring Agent', matches: true },
    { entry: 'CN=00000000-0000-0000-0000-000000000000', matches: false },
    { entry: `CN=${AGENT_WORKSPACE}, O=Contoso`, matches: false },
    { entry: `CN=${AGENT_WORKSPACE}, CN=${AGENT_WORKSPACE}`, matches: false },
    { entry: `CN=${AGENT_WORKSPACE.slice(0, 8)}`, matches: false },
    { entry: `OU=${AGENT_WORKSPACE}`, matches: false },
  ];
  for (const { entry, matches } of cases) {
    test(`${matches ? 'matches' : 'does not match'} "${entry}"`, () => {
      assert.equal(subjectMatches(pattern(entry), subject), matches);
    });
  }

  test('findMatch names the first entry that matches', () => {
    const entries = ['CN=nobody', `CN=${AGENT_GUID}`, 'O=Microsoft'].map(pattern);
    assert.equal(findMatch(entries, subject)?.text, `CN=${AGENT_GUID}`);
    assert.equal(findMatch([pattern('CN=nobody')], subject), undefined);
  });
});

describe('certificate subjects of every shape (issue 16 item 1)', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const made = (attributes: { type?: string; name?: string; value: string }[]): X509Certificate => {
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date(Date.now() - 3_600_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject(attributes);
    cert.setIssuer([{ name: 'commonName', value: 'issuer' }]);
    cert.sign(key, forge.md.sha256.create());
    return new X509Certificate(forge.pki.certificateToPem(cert));
  };

  test('an empty subject (Node gives subject as undefined) reads as (empty subject), matching nothing', () => {
    const subject = subjectOf(made([]));
    assert.equal(subject.text, EMPTY_SUBJECT);
    assert.equal(subject.attributes.size, 0);
    assert.equal(findMatch([pattern('CN=agent')], subject), undefined);
  });

  test('unknown attribute types keep their OID; a newline in a value stays escaped in the text', () => {
    const subject = subjectOf(made([{ type: '1.2.3.4', value: 'odd' }, { name: 'commonName', value: 'a\nb, O=evil' }]));
    assert.equal(subject.text, '1.2.3.4=odd, CN=a\\0Ab\\, O=evil');
    assert.deepEqual(subject.attributes.get('1.2.3.4'), ['odd']);
    assert.deepEqual(subject.attributes.get('CN'), ['a\nb, o=evil']);
    assert.equal(subjectMatches(pattern('O=evil'), subject), false);
  });

  test('__proto__ and constructor as values are plain values', () => {
    const subject = subjectOf(made([{ name: 'commonName', value: '__proto__' }, { name: 'organizationName', value: 'constructor' }]));
    assert.ok(subjectMatches(pattern('CN=__proto__, O=constructor'), subject));
  });

  test('a subject of 20,000 characters is cut to 512 for the log', () => {
    const subject = subjectOf(made([{ name: 'commonName', value: 'x'.repeat(20_000) }]));
    assert.equal(subject.text.length, 515);
    assert.ok(subject.text.endsWith('...'));
  });
});
