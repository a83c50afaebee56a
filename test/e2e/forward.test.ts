// Plain-HTTP forwarding (absolute-URI requests) through the real gateway to a local HTTP origin:
// what is forwarded, what is stripped, and every framing trick that must never reach the origin.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordMatching, startGateway, type Gateway } from '../fixtures/gateway.js';
import { HELLO_BODY, startHttpOrigin, type HttpOrigin } from '../fixtures/origin.js';
import { parseHead, rawExchange, statusCodes } from '../fixtures/raw-client.js';
import { assertTableAnswer } from '../fixtures/refusal.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

const HOST = 'plain.example.test';
/** An operator entry for port 443: plain http:// to it is refused like a preset's. */
const TLS_PORT_HOST = 'tls-port.example.test';

interface ProxiedResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function viaProxy(gateway: Gateway, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    // Like a real proxy client: Host names the target (Node would otherwise send the proxy's address).
    const target = /^[a-z]+:\/\/([^/]*)/i.exec(url)?.[1];
    const headers = { ...(target === undefined ? {} : { Host: target.replace(/^.*@/, '') }), ...init.headers };
    const req = request({ host: '127.0.0.1', port: gateway.port, method: init.method ?? 'GET', path: url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('plain-HTTP forwarding', () => {
  let origin: HttpOrigin;
  let gateway: Gateway;
  const USER = { name: 'agent', password: 'p@ss:word' };

  before(async () => {
    origin = await startHttpOrigin();
    gateway = await startGateway({
      configYaml: await basicAuthYaml([USER]),
      args: [
        '--allow-host', `${HOST}:80`,
        '--resolve', `${HOST}=127.0.0.1:${origin.port}`,
        '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${origin.port}`,
        '--allow-host', `${TLS_PORT_HOST}:443`,
        '--resolve', `${TLS_PORT_HOST}=127.0.0.1:${origin.port}`,
      ],
    });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
  });

  const auth = (): Record<string, string> => ({ 'Proxy-Authorization': basicCredentials(USER.name, USER.password) });
  const authLine = (): string => `Proxy-Authorization: ${basicCredentials(USER.name, USER.password)}\r\n`;

  test('forwards an allowed absolute-URI request and answers with the origin response', async () => {
    const before = origin.requests.length;
    const res = await viaProxy(gateway, `http://${HOST}/hello?x=1`, { headers: auth() });
    assert.equal(res.status, 200);
    assert.equal(res.body, HELLO_BODY);
    const seen = origin.requests[before];
    assert.equal(seen?.url, '/hello?x=1', 'the origin receives origin-form, not the absolute URI');
    assert.equal(seen?.headers.host, HOST);
  });

  test('curl -x reaches the origin over plain HTTP', async () => {
    requireCommand('curl');
    const result = await runCommand('curl', ['-sS', '-x', `http://127.0.0.1:${gateway.port}`, '-U', `${USER.name}:${USER.password}`, `http://${HOST}/hello`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, HELLO_BODY);
  });

  test('never forwards Proxy-Authorization, Proxy-Connection or other hop-by-hop fields', async () => {
    const before = origin.requests.length;
    const res = await viaProxy(gateway, `http://${HOST}/hello`, {
      headers: { ...auth(), 'Proxy-Connection': 'keep-alive', Connection: 'X-Hop-Secret', 'X-Hop-Secret': 'do-not-forward', 'Keep-Alive': 'timeout=5', TE: 'trailers', 'X-End-To-End': 'kept' },
    });
    assert.equal(res.status, 200);
    const headers = origin.requests[before]?.headers ?? {};
    for (const name of ['proxy-authorization', 'proxy-connection', 'x-hop-secret', 'keep-alive', 'te']) {
      assert.equal(headers[name], undefined, `${name} reached the origin`);
    }
    assert.equal(headers['x-end-to-end'], 'kept');
    assert.equal(headers['x-forwarded-for'], undefined, 'the client address is not leaked upstream');
    assert.equal(headers.via, undefined, 'no version banner');
  });

  test('forwards a request body intact', async () => {
    const body = 'x'.repeat(100_000);
    const res = await viaProxy(gateway, `http://${HOST}/sha256`, { method: 'POST', headers: auth(), body });
    assert.equal(res.status, 200);
    assert.equal(res.body.trim(), createHash('sha256').update(body).digest('hex'));
  });

  test('requires credentials like CONNECT does: 407, and the origin sees nothing', async () => {
    const before = origin.requests.length;
    const res = await viaProxy(gateway, `http://${HOST}/hello`);
    assert.equal(res.status, 407);
    assert.equal(res.headers['proxy-authenticate'], 'Basic realm="oms-gateway"');
    assert.equal(origin.requests.length, before);
  });

  const refusals: ReadonlyArray<{ name: string; url: string; method?: string; headers?: Record<string, string>; status: number }> = [
    { name: 'a port the entry does not allow', url: `http://${HOST}:8080/hello`, status: 403 },
    { name: 'a name outside the allowlist', url: 'http://example.com/hello', status: 403 },
    { name: 'an allowed HTTPS name over plain HTTP (default entries allow 443 only)', url: 'http://ws1.ods.opinsights.azure.com/hello', status: 403 },
    { name: 'an https:// absolute URI (must use CONNECT)', url: `https://${HOST}/hello`, status: 400 },
    { name: 'an origin-form request', url: '/hello', status: 400 },
    { name: 'a Host header naming another host', url: `http://${HOST}/hello`, headers: { Host: 'example.com' }, status: 400 },
    { name: 'userinfo in the absolute URI', url: `http://user:pw@${HOST}/hello`, status: 400 },
    { name: 'plain http:// to port 443 of a preset name (TLS goes through CONNECT)', url: 'http://ws1.ods.opinsights.azure.com:443/hello', status: 403 },
    { name: 'plain http:// to port 443 of an operator entry', url: `http://${TLS_PORT_HOST}:443/hello`, status: 403 },
    { name: 'TRACE', url: `http://${HOST}/hello`, method: 'TRACE', status: 405 },
    { name: 'TRACE with Max-Forwards: 0', url: `http://${HOST}/hello`, method: 'TRACE', headers: { 'Max-Forwards': '0' }, status: 405 },
    { name: 'OPTIONS with Max-Forwards: 0 (the gateway would be the final recipient)', url: `http://${HOST}/hello`, method: 'OPTIONS', headers: { 'Max-Forwards': '0' }, status: 405 },
    { name: 'OPTIONS with a Max-Forwards that is not a number', url: `http://${HOST}/hello`, method: 'OPTIONS', headers: { 'Max-Forwards': '1x' }, status: 400 },
  ];
  for (const refusal of refusals) {
    test(`refuses ${refusal.name} with ${refusal.status}; the origin sees no request`, async () => {
      const before = origin.requests.length;
      const res = await viaProxy(gateway, refusal.url, { method: refusal.method, headers: { ...auth(), ...refusal.headers } });
      assert.equal(res.status, refusal.status);
      assert.equal(origin.requests.length, before);
    });
  }

  test('plain http:// to port 443 is audited with its reason and never dialled', async () => {
    const from = gateway.records.length;
    const connections = origin.connections;
    const res = await viaProxy(gateway, 'http://ws1.ods.opinsights.azure.com:443/hello', { headers: auth() });
    assert.equal(res.status, 403);
    assert.match(res.body, /port 443 takes TLS through CONNECT/);
    const record = await gateway.waitForRecord(recordMatching({ event: 'bad-request', reason: 'plain-http-to-tls-port' }), 5000, from);
    assert.equal(record.status, 403);
    assert.equal(origin.connections, connections, 'the origin was dialled');
    assert.ok(!gateway.records.slice(from).some((r) => r.event === 'request-allowed'), 'a request-allowed record for a refused request');
  });

  test('Connection naming Content-Length: 400 from the error table, audited with its reason, nothing dialled', async () => {
    const from = gateway.records.length;
    const connections = origin.connections;
    const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const result = await rawExchange(gateway.port, `DELETE http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\n${authLine()}Connection: Content-Length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    assert.deepEqual(statusCodes(result.data), [400]);
    assert.match(result.text, /Connection must not name Content-Length, Transfer-Encoding or Host/);
    const record = await gateway.waitForRecord(recordMatching({ event: 'bad-request', reason: 'connection-names-framing' }), 5000, from);
    assert.equal(record.status, 400);
    assert.equal(record.method, 'DELETE');
    assert.equal(origin.connections, connections, 'the origin was dialled');
  });

  test('the path and query reach the origin byte for byte: // and dot segments kept', async () => {
    const before = origin.requests.length;
    const path = '//a//b/./c/../d//?x=//y&z=%2F%2f';
    const result = await rawExchange(gateway.port, `GET http://${HOST}${path} HTTP/1.1\r\nHost: ${HOST}\r\n${authLine()}Connection: close\r\n\r\n`);
    assert.deepEqual(statusCodes(result.data), [404]);
    assert.equal(origin.requests[before]?.url, path);
  });

  test('OPTIONS goes upstream with Max-Forwards one less; other methods pass it unchanged', async () => {
    const before = origin.requests.length;
    assert.equal((await viaProxy(gateway, `http://${HOST}/hello`, { method: 'OPTIONS', headers: { ...auth(), 'Max-Forwards': '3' } })).status, 404);
    assert.equal((await viaProxy(gateway, `http://${HOST}/hello`, { headers: { ...auth(), 'Max-Forwards': '0' } })).status, 200);
    assert.equal(origin.requests[before]?.headers['max-forwards'], '2');
    assert.equal(origin.requests[before + 1]?.headers['max-forwards'], '0');
  });

  for (const [name, line] of [
    ['an HTTP/2.0 request line', `GET http://${HOST}/hello HTTP/2.0`],
    ['an HTTP/0.9 request line with headers', `GET http://${HOST}/hello HTTP/0.9`],
    ['an HTTP/2.0 CONNECT', `CONNECT ${HOST}:80 HTTP/2.0`],
  ] as const) {
    test(`refuses ${name} with 505; the origin sees no connection`, async () => {
      const connections = origin.connections;
      const result = await rawExchange(gateway.port, `${line}\r\nHost: ${HOST}\r\n${authLine()}\r\n`);
      assert.deepEqual(statusCodes(result.data), [505]);
      assert.notEqual(result.ending, 'idle', 'the connection stayed open after the 505');
      assert.equal(origin.connections, connections);
    });
  }

  for (const [name, target, withAuth, status] of [
    ['without credentials', HOST, false, 407],
    ['to a denied name', 'example.com', true, 403],
  ] as const) {
    test(`Expect: 100-continue ${name}: ${status} with no 100 Continue before it`, async () => {
      const connections = origin.connections;
      const head = `POST http://${target}/sha256 HTTP/1.1\r\nHost: ${target}\r\n${withAuth ? authLine() : ''}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n`;
      const result = await rawExchange(gateway.port, head);
      assert.ok(!result.text.includes(' 100 '), `an interim answer came first: ${JSON.stringify(result.text.slice(0, 120))}`);
      assert.deepEqual(statusCodes(result.data), [status]);
      assert.equal(origin.connections, connections);
    });
  }

  test('Expect: 100-continue on an admitted request: the origin\'s 100 is relayed, then the body goes through', async () => {
    const socket = connect({ host: '127.0.0.1', port: gateway.port });
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    const waitFor = async (what: string, done: () => boolean): Promise<void> => {
      for (let waited = 0; !done(); waited += 10) {
        if (waited >= 5000) assert.fail(`no ${what} within 5 s: ${JSON.stringify(received.toString('latin1'))}`);
        await sleep(10);
      }
    };
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`POST http://${HOST}/sha256 HTTP/1.1\r\nHost: ${HOST}\r\n${authLine()}Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
      await waitFor('100 Continue', () => received.includes('\r\n\r\n'));
      assert.equal(parseHead(received).status, 100);
      socket.write('hello');
      await waitFor('final answer', () => received.toString('latin1').endsWith(createHash('sha256').update('hello').digest('hex')));
      assert.equal(parseHead(parseHead(received).rest).status, 200);
    } finally {
      socket.destroy();
    }
  });

  // http-proxy's deleteLength pass (node-http-proxy#1721) would turn these into a smuggled second request.
  for (const method of ['DELETE', 'OPTIONS']) {
    test(`refuses ${method} with a chunked body; the smuggled request never reaches the origin`, async () => {
      const before = origin.requests.length;
      const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
      const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
      const raw = `${method} http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nProxy-Authorization: ${auth()['Proxy-Authorization']}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`;
      const result = await rawExchange(gateway.port, raw);
      assert.deepEqual(statusCodes(result.data), [400]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(origin.requests.length, before);
      assert.ok(!origin.requests.some((r) => r.url === '/smuggled'));
    });
  }

  test('re-frames a chunked GET body so the origin reads exactly one request', async () => {
    const before = origin.requests.length;
    const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const raw = `GET http://${HOST}/hello HTTP/1.1\r\nHost: ${HOST}\r\nProxy-Authorization: ${auth()['Proxy-Authorization']}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk}`;
    const result = await rawExchange(gateway.port, raw);
    assert.deepEqual(statusCodes(result.data), [200]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(origin.requests.length, before + 1);
    assert.equal(origin.requests[before]?.body.toString(), smuggled, 'the body arrives as a body');
    assert.ok(!origin.requests.some((r) => r.url === '/smuggled'));
  });

  test('rejects Content-Length together with Transfer-Encoding (Node strict parser) and closes', async () => {
    const before = origin.requests.length;
    const raw = `POST http://${HOST}/sha256 HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://${HOST}/smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const result = await rawExchange(gateway.port, raw);
    assert.deepEqual(statusCodes(result.data), [400]);
    assert.equal(origin.requests.length, before);
  });

  test('refuses protocol upgrades on the plain path with 501', async () => {
    const before = origin.requests.length;
    const raw = `GET http://${HOST}/ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nProxy-Authorization: ${auth()['Proxy-Authorization']}\r\n\r\n`;
    const result = await rawExchange(gateway.port, raw);
    assert.deepEqual(statusCodes(result.data), [501]);
    assertTableAnswer(result.data, 'upgrade-not-supported');
    assert.equal(origin.requests.length, before);
  });

  test('refuses an Expect other than 100-continue with 417 from the error table', async () => {
    const before = origin.requests.length;
    const raw = `POST http://${HOST}/sha256 HTTP/1.1\r\nHost: ${HOST}\r\nExpect: 200-ok\r\nContent-Length: 2\r\n${authLine()}\r\nhi`;
    const result = await rawExchange(gateway.port, raw);
    assertTableAnswer(result.data, 'expectation-failed');
    assert.equal(origin.requests.length, before);
  });

  test('logs one request-completed record with status and bytes', async () => {
    const from = gateway.records.length;
    await viaProxy(gateway, `http://${HOST}/hello`, { headers: auth() });
    const record = await gateway.waitForRecord((r) => r.event === 'request-completed', 5000, from);
    assert.equal(record.eventId, 1004);
    assert.equal(record.status, 200);
    assert.equal(record.target, `${HOST}:80`);
    assert.equal(record.user, USER.name);
    assert.ok(typeof record.bytesToClient === 'number' && record.bytesToClient > HELLO_BODY.length);
  });
});
