// The metrics and health listener on a real loopback port, in front of a real (started, then drained)
// gateway: routes, Basic auth for scrapes only, HTTPS with the test CA's certificate, and start-up failures
// that name their cause.
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashPassword, verificationLoad } from '../../src/auth/password.js';
import { slowPathLimits } from '../../src/auth/throttle.js';
import { parseConfigText } from '../../src/config/load.js';
import type { MetricsConfig } from '../../src/config/types.js';
import type { AuthConfig } from '../../src/auth/config-types.js';
import { parseExposition, total } from '../../src/observability/exposition.js';
import { openLog } from '../../src/observability/logger.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { MetricsServerError, startMetricsServer, type MetricsServer } from '../../src/observability/metrics-server.js';
import { Gateway } from '../../src/proxy/gateway.js';
import { testPki } from '../fixtures/pki.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function get(url: string, options: { method?: string; authorization?: string; ca?: string; localAddress?: string } = {}): Promise<Answer> {
  const headers = options.authorization === undefined ? {} : { authorization: options.authorization };
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  const from = options.localAddress === undefined ? {} : { localAddress: options.localAddress, agent: false };
  return new Promise((resolve, reject) => {
    const req = send(url, { method: options.method ?? 'GET', headers, ...from, ...(options.ca === undefined ? {} : { ca: options.ca }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

const config = parseConfigText('listen: ["127.0.0.1:0"]\nmetrics: {listen: "127.0.0.1:0"}\n', 'metrics-server.test');
const logger = openLog({ level: 'silent', format: 'json', file: undefined, bufferBytes: 4096 }).logger;

function metricsConfig(overrides: Partial<MetricsConfig> = {}): MetricsConfig {
  return { ...config.metrics, ...overrides };
}

async function withServer(
  gateway: Gateway,
  overrides: Partial<MetricsConfig>,
  use: (server: MetricsServer) => Promise<void>,
): Promise<void> {
  const server = await startMetricsServer({ config: metricsConfig(overrides), proxyAuth: config.auth, authLimits: slowPathLimits(config), metrics: gateway.metrics, gateway, logger });
  try {
    await use(server);
  } finally {
    await server.close();
  }
}

function newGateway(): Gateway {
  return new Gateway(config, logger, new GatewayMetrics({ version: '1.2.3', workspaceLabels: false, maxWorkspaces: 1 }));
}

describe('routes', () => {
  const gateway = newGateway();
  let server: MetricsServer;
  before(async () => {
    await gateway.start();
    server = await startMetricsServer({ config: metricsConfig(), proxyAuth: config.auth, authLimits: slowPathLimits(config), metrics: gateway.metrics, gateway, logger });
  });
  after(async () => {
    await server.close();
    await gateway.stop(100);
  });

  const cases: readonly { name: string; method: string; path: string; status: number; type?: RegExp; body?: RegExp }[] = [
    { name: 'the exposition', method: 'GET', path: '/metrics', status: 200, type: /^text\/plain; version=0\.0\.4/, body: /^oms_gateway_build_info\{version="1\.2\.3"/m },
    { name: 'the exposition, query string ignored', method: 'GET', path: '/metrics?debug=1', status: 200, body: /oms_gateway_active_tunnels 0/ },
    { name: 'HEAD of the exposition', method: 'HEAD', path: '/metrics', status: 200, body: /^$/ },
    { name: 'liveness', method: 'GET', path: '/healthz', status: 200, type: /^application\/json/, body: /"status":"ok"/ },
    { name: 'readiness of a started gateway', method: 'GET', path: '/readyz', status: 200, type: /^application\/json/, body: /"status":"ready".*"bound":1/ },
    { name: 'an unknown path', method: 'GET', path: '/', status: 404 },
    { name: 'a path that only starts like the exposition', method: 'GET', path: '/metricsx', status: 404 },
    { name: 'a POST', method: 'POST', path: '/metrics', status: 405 },
    { name: 'a DELETE of a health path', method: 'DELETE', path: '/readyz', status: 405 },
  ];
  for (const { name, method, path, status, type, body } of cases) {
    test(`${method} ${path}: ${name}`, async () => {
      const answer = await get(`${server.url}${path}`, { method });
      assert.equal(answer.status, status);
      if (type !== undefined) assert.match(String(answer.headers['content-type']), type);
      if (body !== undefined) assert.match(answer.body, body);
      if (status === 405) assert.equal(answer.headers.allow, 'GET, HEAD');
    });
  }

  test('the URL names the bound port on loopback', () => {
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.notEqual(server.port, 0);
  });
});

describe('readiness through a drain', () => {
  test('/readyz answers 503 "draining" once the gateway stops, while /healthz stays 200', async () => {
    const gateway = newGateway();
    await gateway.start();
    await withServer(gateway, {}, async (server) => {
      assert.equal((await get(`${server.url}/readyz`)).status, 200);
      await gateway.stop(100);
      const answer = await get(`${server.url}/readyz`);
      assert.equal(answer.status, 503);
      const body = JSON.parse(answer.body) as { status: string; checks: { draining: { ok: boolean } } };
      assert.equal(body.status, 'draining');
      assert.equal(body.checks.draining.ok, false);
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
    });
  });

  test('/readyz answers 503 "starting" before the proxy listeners are bound', async () => {
    await withServer(newGateway(), {}, async (server) => {
      const answer = await get(`${server.url}/readyz`);
      assert.equal(answer.status, 503);
      assert.match(answer.body, /"status":"starting"/);
    });
  });
});

describe('Basic authentication for scrapers', () => {
  const password = 'scrape-secret-4471';
  let users: MetricsConfig['users'];
  before(async () => {
    users = [{ name: 'prometheus', passwordHash: await hashPassword(password) }];
  });

  test('scrapes need the credentials; health probes do not', async () => {
    await withServer(newGateway(), { users }, async (server) => {
      const refused = await get(`${server.url}/metrics`);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], 'Basic realm="oms-gateway metrics"');
      assert.doesNotMatch(refused.body, /oms_gateway/);
      assert.equal((await get(`${server.url}/metrics`, { authorization: basic('prometheus', 'wrong') })).status, 401);
      assert.equal((await get(`${server.url}/metrics`, { authorization: basic('grafana', password) })).status, 401);
      assert.equal((await get(`${server.url}/metrics`, { authorization: `Bearer ${password}` })).status, 401);
      const scraped = await get(`${server.url}/metrics`, { authorization: basic('prometheus', password) });
      assert.equal(scraped.status, 200);
      assert.match(scraped.body, /oms_gateway_build_info/);
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
      assert.equal((await get(`${server.url}/readyz`)).status, 503);
    });
  });
});

describe('the throttle in front of scrapers (issue 16, item 5)', () => {
  const password = 'scrape-secret-4471';
  let users: MetricsConfig['users'];
  before(async () => {
    users = [{ name: 'prometheus', passwordHash: await hashPassword(password) }];
  });

  /** The proxy's auth settings with this throttle; the metrics listener takes its settings from there. */
  function proxyAuth(throttle: Partial<AuthConfig['throttle']>): AuthConfig {
    return { ...config.auth, throttle: { ...config.auth.throttle, failuresBeforeDelay: 1000, ...throttle } };
  }

  async function start(gateway: Gateway, throttle: Partial<AuthConfig['throttle']>): Promise<MetricsServer> {
    return startMetricsServer({ config: metricsConfig({ users }), proxyAuth: proxyAuth(throttle), authLimits: slowPathLimits(config), metrics: gateway.metrics, gateway, logger });
  }

  const failures = async (gateway: Gateway, reason: string): Promise<number> =>
    total(parseExposition(await gateway.metrics.expose()), 'oms_gateway_auth_failures_total', { listener: 'metrics', reason });

  test('failures lock out, are answered 429 with Retry-After, and are counted', async () => {
    const gateway = newGateway();
    const server = await start(gateway, { lockoutFailures: 3 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await get(`${server.url}/metrics`, { authorization: basic('prometheus', `wrong-${i}`) })).status, 401);
      const locked = await get(`${server.url}/metrics`, { authorization: basic('prometheus', password) });
      assert.equal(locked.status, 429);
      assert.equal(locked.headers['retry-after'], '60');
      assert.equal(locked.headers['www-authenticate'], undefined);
      assert.doesNotMatch(locked.body, /oms_gateway/);
      assert.equal(await failures(gateway, 'bad-credentials'), 3);
      assert.equal(await failures(gateway, 'locked-out'), 1);
      assert.equal(total(parseExposition(await gateway.metrics.expose()), 'oms_gateway_auth_lockouts_total'), 2);
      // Health probes carry no credentials and are never throttled.
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  test('80 wrong passwords at once from one address: at most lockoutFailures are checked', async () => {
    const gateway = newGateway();
    const server = await start(gateway, { lockoutFailures: 10 });
    try {
      const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => get(`${server.url}/metrics`, { authorization: basic('prometheus', `guess-${i}`), localAddress: '127.0.0.90' })));
      const checked = await failures(gateway, 'bad-credentials');
      assert.ok(checked >= 1 && checked <= 10, `${checked} passwords checked`);
      assert.equal(answers.filter((a) => a.status === 401).length, checked);
      assert.equal(answers.filter((a) => a.status === 429).length, 80 - checked);
    } finally {
      await server.close();
    }
  });

  test('80 wrong passwords at once from 80 addresses leave the thread pool to the proxy\'s name lookups', async () => {
    const gateway = newGateway();
    // No lockout and no caps: every one of the 80 is checked.
    const server = await start(gateway, { lockoutFailures: 0, maxConcurrentPerClient: 0, maxConcurrentPerUser: 0 });
    try {
      let answered = 0;
      const flood = Array.from({ length: 80 }, (_, i) =>
        get(`${server.url}/metrics`, { authorization: basic(`scraper-${i}`, 'wrong'), localAddress: `127.0.4.${i + 1}` }).then((answer) => {
          answered += 1;
          return answer;
        }),
      );
      // Wait until (nearly) all of them have reached the password check: answered, running or waiting; a few
      // may be between their check and their answer. Bounded: 80 requests on loopback arrive within 5 s.
      let load = verificationLoad();
      const reached = (): number => answered + load.running + load.waiting;
      for (let i = 0; i < 500 && reached() < 76; i++) {
        await sleep(10);
        load = verificationLoad();
      }
      assert.ok(reached() >= 76, `only ${reached()} of 80 reached the check`);
      assert.ok(load.running <= load.limit, `${load.running} checks in the pool at once, limit ${load.limit}`);
      // The proxy's own lookup path (getaddrinfo, in the same thread pool as scrypt).
      const addresses = await gateway.runtime.dns.resolve('localhost', 30_000);
      const answeredBeforeLookup = answered;
      assert.ok(addresses.length > 0);
      assert.ok(answeredBeforeLookup < 40, `the lookup waited for ${answeredBeforeLookup} of 80 password checks`);
      assert.ok(verificationLoad().waiting > 0, 'checks were still waiting when the lookup was answered');
      // Each is answered: 401 once checked, or 503 when its turn did not come within timeouts.authSeconds.
      const answers = await Promise.all(flood);
      assert.ok(answers.every((a) => a.status === 401 || a.status === 503), answers.map((a) => a.status).join(' '));
      assert.equal((await failures(gateway, 'bad-credentials')) + (await failures(gateway, 'busy')), 80);
    } finally {
      await server.close();
    }
  });
});

describe('HTTPS', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-gateway-metrics-tls-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('serves the exposition over TLS with the given pair and exports its expiry', async () => {
    const pki = await testPki();
    const gateway = newGateway();
    await withServer(gateway, { tls: { cert: pki.certFile, key: pki.keyFile } }, async (server) => {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const answer = await get(`${server.url}/metrics`, { ca: pki.caPem });
      assert.equal(answer.status, 200);
      const expiry = total(parseExposition(answer.body), 'oms_gateway_certificate_expiry_timestamp_seconds', { certificate: `metrics:${pki.certFile}` });
      assert.equal(expiry, new Date(new X509Certificate(pki.certPem).validTo).getTime() / 1000);
      await assert.rejects(get(`${server.url}/metrics`), /self[- ]signed|unable to verify|certificate/i);
    });
  });

  const broken: readonly { name: string; files: () => Promise<{ cert: string; key: string }>; message: RegExp }[] = [
    {
      name: 'a missing certificate file',
      files: async () => ({ cert: join(dir, 'missing.crt'), key: (await testPki()).keyFile }),
      message: /cannot read metrics\.tls\.cert .*missing\.crt \(ENOENT\)/,
    },
    {
      name: 'a key that does not belong to the certificate',
      files: async () => {
        const key = join(dir, 'other.key');
        await writeFile(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
        return { cert: (await testPki()).certFile, key };
      },
      message: /not a usable pair/,
    },
    {
      name: 'a certificate file that holds no certificate',
      files: async () => {
        const cert = join(dir, 'garbage.crt');
        await writeFile(cert, 'not a certificate\n');
        return { cert, key: (await testPki()).keyFile };
      },
      message: /garbage\.crt .*not a usable pair/,
    },
  ];
  for (const { name, files, message } of broken) {
    test(`refuses to start with ${name}`, async () => {
      const tls = await files();
      await assert.rejects(
        startMetricsServer({ config: metricsConfig({ tls }), proxyAuth: config.auth, authLimits: slowPathLimits(config), metrics: newGateway().metrics, gateway: newGateway(), logger }),
        (err: unknown) => err instanceof MetricsServerError && err.code === 'METRICS_TLS' && message.test(err.message) && !err.message.includes('PRIVATE KEY'),
      );
    });
  }
});

test('a port already in use stops the start with the address and the reason', async () => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const port = (blocker.address() as AddressInfo).port;
  try {
    const gateway = newGateway();
    await assert.rejects(
      startMetricsServer({ config: metricsConfig({ listen: { host: '127.0.0.1', port, optional: false } }), proxyAuth: config.auth, authLimits: slowPathLimits(config), metrics: gateway.metrics, gateway, logger }),
      (err: unknown) => err instanceof MetricsServerError && err.code === 'METRICS_LISTEN' && err.message.includes(`127.0.0.1:${port}`) && err.message.includes('EADDRINUSE'),
    );
  } finally {
    blocker.close();
  }
});
