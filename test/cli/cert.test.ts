// `oms-gateway cert generate|request|show` as an operator runs them: files with safe modes, output that says
// what was made and what to do next, a CSR openssl accepts, and refusals that keep existing files.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runCli, tempDir } from '../fixtures/cli.js';
import { requireCommand } from '../fixtures/tools.js';

const execFileAsync = promisify(execFile);

async function modeOf(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

describe('cert generate', () => {
  test('writes the CA and the server certificate with safe modes and says how to use them', async (t) => {
    const dir = await tempDir(t);
    const result = await runCli(['cert', 'generate', '--out', dir, '--host', 'gw.example.net', '--host', '10.0.0.5', '--host', '[::1]', '--days', '30']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      await Promise.all(['ca.crt', 'ca.key', 'gateway.crt', 'gateway.key'].map((name) => modeOf(join(dir, name)))),
      ['644', '600', '644', '600'],
    );
    const cert = new X509Certificate(await readFile(join(dir, 'gateway.crt')));
    assert.equal(cert.subjectAltName, 'DNS:gw.example.net, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(cert.verify(new X509Certificate(await readFile(join(dir, 'ca.crt'))).publicKey));
    assert.match(result.stdout, new RegExp(`wrote ${join(dir, 'gateway.key')} \\(mode 0600\\)`));
    assert.match(result.stdout, /curl -x https:\/\/<gateway>:8080 --proxy-cacert .*ca\.crt/);
    assert.match(result.stdout, new RegExp(cert.fingerprint256));
  });

  test('keeps existing files unless --force, and signs with an existing CA without copying its key', async (t) => {
    const dir = await tempDir(t);
    assert.equal((await runCli(['cert', 'generate', '--out', dir, '--host', 'a.test'])).code, 0);
    const first = await readFile(join(dir, 'gateway.crt'), 'utf8');
    const again = await runCli(['cert', 'generate', '--out', dir, '--host', 'a.test']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exist; give --force to replace them/);
    assert.equal(await readFile(join(dir, 'gateway.crt'), 'utf8'), first);

    const second = join(dir, 'second');
    const signed = await runCli(['cert', 'generate', '--out', second, '--host', 'b.test', '--ca-cert', join(dir, 'ca.crt'), '--ca-key', join(dir, 'ca.key'), '--json']);
    assert.equal(signed.code, 0, signed.stderr);
    const report = JSON.parse(signed.stdout) as { files: string[]; certificate: { issuer: string } };
    assert.deepEqual(report.files.map((file) => file.slice(second.length + 1)).sort(), ['ca.crt', 'gateway.crt', 'gateway.key']);
    assert.equal(report.certificate.issuer, new X509Certificate(await readFile(join(dir, 'ca.crt'))).subject.split('\n').join(', '));
  });

  const usage: readonly { args: string[]; message: RegExp }[] = [
    { args: ['--key-size', '1024'], message: /--key-size must be one of 2048, 3072, 4096/ },
    { args: ['--days', '0'], message: /--days must be a whole number of days/ },
    { args: ['--host', 'bad name'], message: /--host "bad name" is neither a DNS name nor an IP address/ },
    { args: ['--ca-cert', 'x.crt'], message: /--ca-cert and --ca-key go together/ },
    { args: ['--colour'], message: /cert generate: unknown option --colour; cert generate takes --out, / },
  ];
  for (const { args, message } of usage) {
    test(`bad usage ${args.join(' ')}: exit 2`, async (t) => {
      const result = await runCli(['cert', 'generate', '--out', await tempDir(t), ...args]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
    });
  }
});

describe('cert request', () => {
  test('writes a key (0600) and a CSR that openssl verifies, subject and SANs as asked', async (t) => {
    requireCommand('openssl');
    const dir = await tempDir(t);
    const result = await runCli(['cert', 'request', '--out', dir, '--host', 'gw.contoso.com', '--subject', 'CN=gw.contoso.com, O=Contoso, C=US']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await modeOf(join(dir, 'gateway.key')), '600');
    assert.match(result.stdout, /Have your CA sign .*gateway\.csr/);
    const { stdout, stderr } = await execFileAsync('openssl', ['req', '-in', join(dir, 'gateway.csr'), '-noout', '-verify', '-subject', '-text']);
    assert.match(`${stdout}${stderr}`, /verify OK/);
    assert.match(stdout, /subject=C = US, O = Contoso, CN = gw\.contoso\.com/);
    assert.match(stdout, /DNS:gw\.contoso\.com/);
  });

  test('a subject that is not TYPE=value is bad usage', async (t) => {
    const result = await runCli(['cert', 'request', '--out', await tempDir(t), '--subject', 'gateway']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--subject: each attribute must be TYPE=value/);
  });
});

describe('cert show', () => {
  test('describes every certificate and request of a file, and never prints a key', async (t) => {
    const dir = await tempDir(t);
    assert.equal((await runCli(['cert', 'generate', '--out', dir, '--host', 'show.test'])).code, 0);
    assert.equal((await runCli(['cert', 'request', '--out', join(dir, 'req'), '--host', 'show.test'])).code, 0);
    const bundle = join(dir, 'bundle.pem');
    const [cert, ca, csr, key] = (await Promise.all(['gateway.crt', 'ca.crt', 'req/gateway.csr', 'gateway.key'].map((name) => readFile(join(dir, name), 'utf8')))) as [string, string, string, string];
    await writeFile(bundle, `${cert}${ca}${csr}${key}`);
    const result = await runCli(['cert', 'show', bundle]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /certificate 1 of 4\n {2}subject: {6}CN=show\.test, O=oms-gateway\n/);
    assert.match(result.stdout, /SANs: {9}DNS:show\.test/);
    assert.match(result.stdout, /valid: {8}\S+ to \S+ \(39[67] days left\)/);
    assert.match(result.stdout, new RegExp(`SHA-256: {6}${new X509Certificate(cert).fingerprint256}`));
    assert.match(result.stdout, /certificate 2 of 4[\s\S]*\(self-signed\)[\s\S]*CA: {11}yes/);
    assert.match(result.stdout, /request 3 of 4\n {2}subject: {6}CN=show\.test[\s\S]*signature: {4}valid/);
    assert.match(result.stdout, /private-key 4 of 4\n {2}key: {10}RSA 2048 bits \(not shown\)/);
    const keyBody = key.split('\n')[1] ?? '';
    assert.ok(!result.stdout.includes(keyBody), 'key material was printed');

    const json = await runCli(['cert', 'show', join(dir, 'gateway.crt'), '--json']);
    const [shown] = JSON.parse(json.stdout) as [{ kind: string; certificate: { subjectAltNames: string[]; expired: boolean } }];
    assert.equal(shown.kind, 'certificate');
    assert.deepEqual(shown.certificate.subjectAltNames, ['DNS:show.test']);
    assert.equal(shown.certificate.expired, false);
  });

  test('a file without PEM blocks, or no file, fails with exit 1', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'empty.pem'), 'nothing here\n');
    const empty = await runCli(['cert', 'show', join(dir, 'empty.pem')]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /holds no PEM certificate, certificate request or private key/);
    const missing = await runCli(['cert', 'show', join(dir, 'none.pem')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read FILE .*none\.pem \(ENOENT\)/);
  });
});
