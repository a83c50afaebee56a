// TLS settings in the configuration: listener `tls` blocks and their defaults, `--tls-cert/--tls-key`, the
// inspection and allowedClientCertificates keys, and the certificate files checked when the file is loaded.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseConfigText, type ConfigOverrides } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { generateCertificates } from '../../src/tls/certs.js';
import { DEFAULT_CIPHERS } from '../../src/tls/material.js';

function issuesOf(text: string, overrides: ConfigOverrides = {}): string[] {
  try {
    parseConfigText(text, 'test.yaml', overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message.split('\n');
  }
  return assert.fail('the configuration loaded, but it is invalid');
}

describe('TLS configuration', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let ca: string;
  let otherKey: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-config-'));
    const pki = generateCertificates({ hosts: ['gw.test'], keySize: 2048, days: 30, caDays: 30 });
    const other = generateCertificates({ hosts: ['other.test'], keySize: 2048, days: 30, caDays: 30 });
    [cert, key, ca, otherKey] = ['gateway.crt', 'gateway.key', 'ca.crt', 'other.key'].map((name) => join(dir, name)) as [string, string, string, string];
    await Promise.all([writeFile(cert, pki.certPem), writeFile(key, pki.keyPem), writeFile(ca, pki.caCertPem), writeFile(otherKey, other.keyPem)]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const load = (text: string, overrides: ConfigOverrides = {}): GatewayConfig => parseConfigText(text, 'test.yaml', overrides);

  test('a tls block with only its files gets every other default', () => {
    const config = load(`listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: ${cert}, key: ${key}}\n`);
    assert.deepEqual(config.listen[0], {
      host: '127.0.0.1',
      port: 8443,
      optional: false,
      tls: { cert, key, minVersion: 'TLSv1.2', ciphers: DEFAULT_CIPHERS, requireTls: false, plainBasicAuth: 'allow', reloadCheckSeconds: 10 },
    });
  });

  test('every tls setting, and client authentication with its subjects', () => {
    const config = load(
      [
        'listen:',
        '  - address: 127.0.0.1:8443',
        '    tls:',
        `      cert: ${cert}`,
        `      key: ${key}`,
        '      minVersion: TLSv1.3',
        '      ciphers: TLS_AES_256_GCM_SHA384',
        '      requireTls: true',
        '      plainBasicAuth: refuse',
        '      reloadCheckSeconds: 0.5',
        `      clientAuth: {ca: ${ca}, subjects: ["CN=agent, O=Contoso"], mode: required}`,
      ].join('\n'),
    );
    assert.deepEqual(config.listen[0]?.tls, {
      cert,
      key,
      minVersion: 'TLSv1.3',
      ciphers: 'TLS_AES_256_GCM_SHA384',
      requireTls: true,
      plainBasicAuth: 'refuse',
      reloadCheckSeconds: 0.5,
      clientAuth: { ca, subjects: ['CN=agent, O=Contoso'], mode: 'required' },
    });
  });

  test('`tls: true` and `tls: {}` read the default files under certs/ of the working directory', async () => {
    const work = await mkdtemp(join(tmpdir(), 'oms-gateway-tls-cwd-'));
    const previous = process.cwd();
    try {
      await mkdir(join(work, 'certs'));
      const pki = generateCertificates({ hosts: ['gw.test'], keySize: 2048, days: 30, caDays: 30 });
      await writeFile(join(work, 'certs', 'gateway.crt'), pki.certPem);
      await writeFile(join(work, 'certs', 'gateway.key'), pki.keyPem);
      process.chdir(work);
      for (const form of ['true', '{}']) {
        const config = load(`listen:\n  - address: 127.0.0.1:8443\n    tls: ${form}\n`);
        assert.equal(config.listen[0]?.tls?.cert, resolve(work, 'certs/gateway.crt'));
        assert.equal(config.listen[0]?.tls?.key, resolve(work, 'certs/gateway.key'));
      }
    } finally {
      process.chdir(previous);
      await rm(work, { recursive: true, force: true });
    }
  });

  test('--tls-cert and --tls-key make the --listen listeners TLS-capable', () => {
    const config = load('', { listen: ['127.0.0.1:0', '127.0.0.1:1234'], tlsCert: cert, tlsKey: key });
    assert.deepEqual(config.listen.map((listener) => [listener.port, listener.tls?.cert, listener.tls?.key, listener.tls?.requireTls]), [
      [0, cert, key, false],
      [1234, cert, key, false],
    ]);
  });

  const refusals: readonly { name: string; text: string; overrides?: ConfigOverrides; issue: (files: { cert: string; key: string; ca: string; otherKey: string }) => RegExp }[] = [
    { name: 'a missing certificate file', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: /nonexistent/gw.crt, key: KEY}\n', issue: () => /^test\.yaml:3: listen\[0\]\.tls\.cert: \/nonexistent\/gw\.crt does not exist; make a pair with `oms-gateway cert generate`/ },
    { name: 'a key of another certificate', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls:\n      cert: CERT\n      key: OTHER\n', issue: (f) => new RegExp(`^test\\.yaml:5: listen\\[0\\]\\.tls\\.key: ${f.otherKey} is not the private key of the certificate`) },
    { name: 'a missing client CA', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: CERT, key: KEY, clientAuth: {ca: /nonexistent/ca.crt}}\n', issue: () => /listen\[0\]\.tls\.clientAuth\.ca: \/nonexistent\/ca\.crt does not exist/ },
    { name: 'an unknown key in tls', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: CERT, key: KEY, minversion: TLSv1.3}\n', issue: () => /listen\[0\]\.tls\.minversion: unknown key \(did you mean "minVersion"\?\); expected one of: cert, key, minVersion, ciphers, requireTls, plainBasicAuth, clientAuth, reloadCheckSeconds/ },
    { name: 'TLS 1.1 for a listener', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: CERT, key: KEY, minVersion: TLSv1.1}\n', issue: () => /listen\[0\]\.tls\.minVersion: expected one of: TLSv1\.2, TLSv1\.3/ },
    { name: 'a cipher list OpenSSL does not know', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: CERT, key: KEY, ciphers: NOPE}\n', issue: () => /listen\[0\]\.tls\.ciphers: expected an OpenSSL cipher list/ },
    { name: 'clientAuth required on a listener that serves plain clients', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: CERT, key: KEY, clientAuth: {ca: CA, mode: required}}\n', issue: () => /listen\[0\]\.tls\.requireTls: clientAuth\.mode required needs requireTls: true/ },
    { name: 'a client subject that is not TYPE=value', text: 'listen:\n  - address: 127.0.0.1:8443\n    tls: {cert: CERT, key: KEY, clientAuth: {ca: CA, subjects: [agent]}}\n', issue: () => /listen\[0\]\.tls\.clientAuth\.subjects\[0\]: each attribute must be TYPE=value/ },
    { name: '--tls-cert without --tls-key', text: '', overrides: { listen: ['127.0.0.1:0'], tlsCert: 'CERT' }, issue: (f) => new RegExp(`^--tls-cert "${f.cert}": needs --tls-key FILE as well`) },
    { name: '--tls-cert and --tls-key without --listen', text: '', overrides: { tlsCert: 'CERT', tlsKey: 'KEY' }, issue: () => /^--tls-cert applies to the listeners given with --listen/ },
    { name: '--tls-key naming the wrong key', text: '', overrides: { listen: ['127.0.0.1:0'], tlsCert: 'CERT', tlsKey: 'OTHER' }, issue: (f) => new RegExp(`^--tls-key ${f.otherKey} is not the private key`) },
  ];
  for (const { name, text, overrides = {}, issue } of refusals) {
    test(`${name} is refused with the key and the fix`, () => {
      const files = { cert, key, ca, otherKey };
      const fill = (s: string): string => s.replaceAll('CERT', cert).replaceAll('OTHER', otherKey).replaceAll('KEY', key).replace(/\bCA\b/g, ca);
      const filled: ConfigOverrides = {
        ...overrides,
        ...(overrides.tlsCert === undefined ? {} : { tlsCert: fill(overrides.tlsCert) }),
        ...(overrides.tlsKey === undefined ? {} : { tlsKey: fill(overrides.tlsKey) }),
      };
      const issues = issuesOf(fill(text), filled);
      assert.ok(issues.some((line) => issue(files).test(line)), issues.join('\n'));
    });
  }

  test('inspection defaults, and every inspection setting', () => {
    assert.deepEqual(load('').inspection, { enabled: true, minVersion: 'TLSv1.2', missingSni: 'allow', timeoutSeconds: 10, maxHandshakeBytes: 65_536, maxHandshakeRecords: 1024, hiddenClientCertificates: 'refuse' });
    const text = 'inspection: {enabled: false, minVersion: TLSv1.3, missingSni: refuse, timeoutSeconds: 2.5, maxHandshakeBytes: 4096, maxHandshakeRecords: 16, hiddenClientCertificates: allow}\n';
    assert.deepEqual(load(text).inspection, { enabled: false, minVersion: 'TLSv1.3', missingSni: 'refuse', timeoutSeconds: 2.5, maxHandshakeBytes: 4096, maxHandshakeRecords: 16, hiddenClientCertificates: 'allow' });
    assert.match(issuesOf('inspection: {maxHandshakeBytes: 100}\n').join('\n'), /inspection\.maxHandshakeBytes: expected a whole number from 4096 to 1048576/);
    assert.match(issuesOf('inspection: {maxHandshakeRecords: 8}\n').join('\n'), /inspection\.maxHandshakeRecords: expected a whole number from 16 to 65536/);
    assert.match(issuesOf('inspection: {minVersion: SSLv3}\n').join('\n'), /inspection\.minVersion: expected one of: TLSv1, TLSv1\.1, TLSv1\.2, TLSv1\.3/);
  });

  test('allowedClientCertificates keeps valid subjects as written and refuses the rest', () => {
    const config = load('allowedClientCertificates:\n  - " CN=0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a "\n  - "CN=a, OU=Linux Monitoring Agent, O=Microsoft"\n');
    assert.deepEqual(config.allowedClientCertificates, ['CN=0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a', 'CN=a, OU=Linux Monitoring Agent, O=Microsoft']);
    assert.match(issuesOf('allowedClientCertificates: ["Microsoft agent"]\n').join('\n'), /^test\.yaml:1: allowedClientCertificates\[0\]: each attribute must be TYPE=value; expected a subject such as/);
  });
});
