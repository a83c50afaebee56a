// Per-source rules on one listener: Arc-gateway machines and AMA on Arc arrive without credentials from
// their subnet, other agents use Basic; the most specific range decides; a rule's presets limit what its
// sources reach; clients behind a load balancer are matched by the address the PROXY header carries; and
// every record names the rule that applied.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { scrapeMetrics, startExchangeOrigin, type ExchangeOrigin } from '../fixtures/exchange.js';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { v1Header } from '../fixtures/proxy-headers.js';
import { connectStatus, parseHead, rawExchange } from '../fixtures/raw-client.js';
import { basicAuthYaml, basicCredentials } from '../fixtures/users.js';

const ARC_HOST = 'gbl.his.arc.azure.com';
const AMA_HOST = 'global.handler.control.monitor.azure.com';
const USER = { name: 'agent', password: 'correct horse battery staple' };

describe('one listener, anonymous for one range and Basic for the rest', () => {
  let origin: ExchangeOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startExchangeOrigin();
    const yaml = await basicAuthYaml([USER], {
      workers: 1,
      agents: ['legacy', 'ama', 'arc'],
      inspection: { enabled: false },
      clients: [
        // The whole loopback range would be Basic...
        { name: 'datacenter', from: '127.0.0.0/8', auth: 'basic' },
        // ...but 127.0.0.2 is the Arc subnet: anonymous, and only the Arc preset.
        { name: 'arc-subnet', from: ['127.0.0.2/32', '10.20.0.0/16'], auth: 'anonymous', agents: ['arc'] },
      ],
    });
    gateway = await startGateway({
      configYaml: yaml,
      args: ['--resolve', `${ARC_HOST}=127.0.0.1:${origin.port}`, '--resolve', `${AMA_HOST}=127.0.0.1:${origin.port}`, '--proxy-protocol-from', '127.0.0.5/32'],
    });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
  });

  test('the Arc subnet tunnels without credentials, and its record names the rule', async () => {
    const from = gateway.records.length;
    const head = await connectStatus(gateway.port, `${ARC_HOST}:443`, { localAddress: '127.0.0.2' });
    assert.equal(head.status, 200);
    const allowed = await gateway.waitForRecord((r) => r.event === 'request-allowed', 5000, from);
    assert.equal(allowed.clientRule, 'arc-subnet');
    assert.equal(allowed.client, '127.0.0.2');
    assert.equal(allowed.user, undefined);
  });

  test("the Arc subnet's rule limits it to the Arc preset: AMA's host is refused there", async () => {
    const from = gateway.records.length;
    const head = await connectStatus(gateway.port, `${AMA_HOST}:443`, { localAddress: '127.0.0.2' });
    assert.equal(head.status, 403);
    const denied = await gateway.waitForRecord((r) => r.event === 'request-denied', 5000, from);
    assert.equal(denied.clientRule, 'arc-subnet');
    assert.equal(denied.reason, 'not-in-allowlist');
  });

  test('another source in the wider range needs credentials: 407 without, 200 with', async () => {
    const from = gateway.records.length;
    const challenged = await connectStatus(gateway.port, `${AMA_HOST}:443`, { localAddress: '127.0.0.3' });
    assert.equal(challenged.status, 407);
    const failed = await gateway.waitForRecord((r) => r.event === 'auth-failed', 5000, from);
    assert.equal(failed.clientRule, 'datacenter');
    const admitted = await connectStatus(gateway.port, `${AMA_HOST}:443`, {
      localAddress: '127.0.0.3',
      headers: { 'Proxy-Authorization': basicCredentials(USER.name, USER.password) },
    });
    assert.equal(admitted.status, 200);
    // Its rule has no agents of its own: the gateway's presets apply, the Arc one included.
    const arc = await connectStatus(gateway.port, `${ARC_HOST}:443`, {
      localAddress: '127.0.0.3',
      headers: { 'Proxy-Authorization': basicCredentials(USER.name, USER.password) },
    });
    assert.equal(arc.status, 200);
  });

  test('behind a load balancer the PROXY header decides: an Arc-subnet address is anonymous, another one is not', async () => {
    const arcMachine = await rawExchange(gateway.port, `${v1Header('10.20.7.8', 40000)}CONNECT ${ARC_HOST}:443 HTTP/1.1\r\nHost: ${ARC_HOST}:443\r\n\r\n`, { localAddress: '127.0.0.5', idleMs: 300 });
    assert.equal(parseHead(arcMachine.data).status, 200);
    const elsewhere = await rawExchange(gateway.port, `${v1Header('10.30.7.8', 40000)}CONNECT ${ARC_HOST}:443 HTTP/1.1\r\nHost: ${ARC_HOST}:443\r\n\r\n`, { localAddress: '127.0.0.5', idleMs: 300 });
    // 10.30.7.8 is in no rule: the listener's own auth.mode (basic) applies.
    assert.equal(parseHead(elsewhere.data).status, 407);
  });

  test('sources asked for credentials that never send any are counted by rule; those that answer are not', async () => {
    const base = gateway.metricsBaseUrl;
    assert.ok(base !== undefined);
    const scrape = await scrapeMetrics(base);
    const unanswered = (rule: string): number | undefined =>
      scrape.samples.find((s) => s.name === 'oms_gateway_unanswered_auth_sources' && s.labels.client_rule === rule)?.value;
    // 10.30.7.8 (behind the load balancer) got a 407 and never authenticated; 127.0.0.3 answered its 407.
    assert.equal(unanswered('default'), 1);
    assert.equal(unanswered('datacenter'), undefined);
  });
});
