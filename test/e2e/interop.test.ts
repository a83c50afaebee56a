// The clients the agents are built on reach an allowed Azure name through the gateway, verifying the origin's
// certificate end to end: curl (onboarding), Ruby Net::HTTP (the Linux agent's daemon), Python urllib, Node's
// http CONNECT and undici's ProxyAgent. Each client uses its own host name so its audit record and the SNI
// the origin saw can be told apart.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { ProxyAgent, request as undiciRequest } from 'undici';
import { recordMatching } from '../fixtures/gateway.js';
import { HELLO_BODY } from '../fixtures/origin.js';
import { useStage, type Stage } from '../fixtures/stage.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const DOMAIN = 'ods.opinsights.azure.com';

/** Fetches https://HOST/hello through PROXY (URL, may carry user:pass) trusting CAFILE; prints the body. */
const PYTHON_CLIENT = `
import ssl, sys, urllib.request
proxy, cafile, url = sys.argv[1:4]
context = ssl.create_default_context(cafile=cafile)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({'https': proxy}), urllib.request.HTTPSHandler(context=context))
with opener.open(url, timeout=15) as response:
    sys.stdout.write(response.read().decode())
`;

/** The Linux agent's way: Net::HTTP.new(host, 443, proxy_addr, proxy_port[, user, pass]) with a pinned CA. */
const RUBY_CLIENT = `
require 'net/http'
require 'openssl'
host, proxy_port, ca_file, user, pass = ARGV
http = Net::HTTP.new(host, 443, '127.0.0.1', Integer(proxy_port), user, pass)
http.use_ssl = true
http.verify_mode = OpenSSL::SSL::VERIFY_PEER
http.ca_file = ca_file
http.open_timeout = 15
http.read_timeout = 15
print http.get('/hello').body
`;

function fail(what: string, result: { code: number | null; stdout: string; stderr: string }): string {
  return `${what} exited with ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

/** The gateway allowed `host:443` and the origin saw a TLS handshake for `host`. */
async function assertRelayed(setup: Stage, host: string, user?: string): Promise<void> {
  const allowed = await setup.gateway.waitForRecord(recordMatching({ event: 'request-allowed', target: `${host}:443` }));
  assert.equal(allowed.eventId, 103);
  assert.equal(allowed.method, 'CONNECT');
  if (user !== undefined) assert.equal(allowed.user, user);
  assert.ok(setup.origin.sniNames.includes(host), `origin saw SNI ${setup.origin.sniNames.join(', ')}`);
}

describe('anonymous gateway: every agent client reaches the origin', () => {
  const get = useStage();

  test('curl -x http://gateway --cacert', async () => {
    requireCommand('curl');
    const { gateway, pki } = get();
    const host = `curl.${DOMAIN}`;
    const result = await runCommand('curl', ['-sS', '--fail', '--max-time', '15', '-x', gateway.proxyUrl, '--cacert', pki.caFile, `https://${host}/hello`]);
    assert.equal(result.code, 0, fail('curl', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host);
  });

  test("Node's http CONNECT, then TLS over the returned socket", async () => {
    const { gateway, pki } = get();
    const host = `node.${DOMAIN}`;
    const req = httpRequest({ host: '127.0.0.1', port: gateway.port, method: 'CONNECT', path: `${host}:443`, headers: { host: `${host}:443` } });
    req.end();
    const [res, socket, head] = (await once(req, 'connect')) as [IncomingMessage, Socket, Buffer];
    assert.equal(res.statusCode, 200);
    assert.equal(res.statusMessage, 'Connection established');
    if (head.length > 0) socket.unshift(head);
    const tls = await connectTls(socket, host, pki.caPem);
    const response = await requestOver(tls, { method: 'GET', path: '/hello', host });
    assert.equal(response.statusCode, 200);
    assert.equal(await readText(response), HELLO_BODY);
    await assertRelayed(get(), host);
  });

  test('undici ProxyAgent', async () => {
    const { gateway, pki } = get();
    const host = `undici.${DOMAIN}`;
    const agent = new ProxyAgent({ uri: gateway.proxyUrl, requestTls: { ca: pki.caPem } });
    try {
      const response = await undiciRequest(`https://${host}/hello`, { dispatcher: agent });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), HELLO_BODY);
    } finally {
      await agent.close();
    }
    await assertRelayed(get(), host);
  });

  test('Python urllib with ProxyHandler', async () => {
    requireCommand('python3');
    const { gateway, pki } = get();
    const host = `python.${DOMAIN}`;
    const result = await runCommand('python3', ['-c', PYTHON_CLIENT, gateway.proxyUrl, pki.caFile, `https://${host}/hello`]);
    assert.equal(result.code, 0, fail('python3', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host);
  });

  test('Ruby Net::HTTP with a proxy address, as the Linux agent connects', async () => {
    requireCommand('ruby');
    const { gateway, pki } = get();
    const host = `ruby.${DOMAIN}`;
    const result = await runCommand('ruby', ['-e', RUBY_CLIENT, host, String(gateway.port), pki.caFile]);
    assert.equal(result.code, 0, fail('ruby', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host);
  });
});

describe('basic-auth gateway: the same clients with proxy credentials', () => {
  // ':' and '@' in the password, as operators choose them and as Net::HTTP sends them unescaped.
  const USER = 'omsagent';
  const PASSWORD = 'Tr0ub4dor:&3@horse';
  const encoded = encodeURIComponent(PASSWORD);
  const get = useStage({ configYaml: () => basicAuthYaml([{ name: USER, password: PASSWORD }]) });

  test('curl -U user:pass', async () => {
    requireCommand('curl');
    const { gateway, pki } = get();
    const host = `curl-u.${DOMAIN}`;
    const result = await runCommand('curl', [
      '-sS', '--fail', '--max-time', '15', '-x', gateway.proxyUrl, '-U', `${USER}:${PASSWORD}`, '--cacert', pki.caFile, `https://${host}/hello`,
    ]);
    assert.equal(result.code, 0, fail('curl', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host, USER);
  });

  test('curl -x http://user:pass@gateway (percent-encoded in the URL)', async () => {
    requireCommand('curl');
    const { gateway, pki } = get();
    const host = `curl-url.${DOMAIN}`;
    const proxy = `http://${USER}:${encoded}@127.0.0.1:${gateway.port}`;
    const result = await runCommand('curl', ['-sS', '--fail', '--max-time', '15', '-x', proxy, '--cacert', pki.caFile, `https://${host}/hello`]);
    assert.equal(result.code, 0, fail('curl', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host, USER);
  });

  test('curl with a wrong password sees 407 on its CONNECT and the origin sees nothing', async () => {
    requireCommand('curl');
    const { gateway, pki, origin } = get();
    const connectionsBefore = origin.connections;
    const result = await runCommand('curl', [
      '-s', '-o', '/dev/null', '-w', '%{http_connect}', '--max-time', '15', '-x', gateway.proxyUrl, '-U', `${USER}:not-${PASSWORD}`,
      '--cacert', pki.caFile, `https://curl-bad.${DOMAIN}/hello`,
    ]);
    assert.equal(result.stdout, '407');
    assert.notEqual(result.code, 0);
    assert.equal(origin.connections, connectionsBefore);
  });

  test('undici ProxyAgent with a Basic token', async () => {
    const { gateway, pki } = get();
    const host = `undici-auth.${DOMAIN}`;
    const agent = new ProxyAgent({ uri: gateway.proxyUrl, token: basicCredentials(USER, PASSWORD), requestTls: { ca: pki.caPem } });
    try {
      const response = await undiciRequest(`https://${host}/hello`, { dispatcher: agent });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), HELLO_BODY);
    } finally {
      await agent.close();
    }
    await assertRelayed(get(), host, USER);
  });

  test('Python urllib with user:pass in the proxy URL', async () => {
    requireCommand('python3');
    const { gateway, pki } = get();
    const host = `python-auth.${DOMAIN}`;
    const proxy = `http://${USER}:${encoded}@127.0.0.1:${gateway.port}`;
    const result = await runCommand('python3', ['-c', PYTHON_CLIENT, proxy, pki.caFile, `https://${host}/hello`]);
    assert.equal(result.code, 0, fail('python3', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host, USER);
  });

  test('Ruby Net::HTTP with proxy user and password (pre-emptive Proxy-Authorization)', async () => {
    requireCommand('ruby');
    const { gateway, pki } = get();
    const host = `ruby-auth.${DOMAIN}`;
    const result = await runCommand('ruby', ['-e', RUBY_CLIENT, host, String(gateway.port), pki.caFile, USER, PASSWORD]);
    assert.equal(result.code, 0, fail('ruby', result));
    assert.equal(result.stdout, HELLO_BODY);
    await assertRelayed(get(), host, USER);
  });

  test('Ruby Net::HTTP with a wrong password gets 407, which the agent treats as "retry later"', async () => {
    requireCommand('ruby');
    const { gateway, pki, origin } = get();
    const connectionsBefore = origin.connections;
    const result = await runCommand('ruby', ['-e', RUBY_CLIENT, `ruby-bad.${DOMAIN}`, String(gateway.port), pki.caFile, USER, 'wrong']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /407/);
    assert.equal(origin.connections, connectionsBefore);
  });
});
