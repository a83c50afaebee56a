// Allowlist bypass attempts: every way a proxy and its dialer have been made to read one target two ways
// (Smokescreen, Tinyproxy, Squid, Netty advisories). Each target below names, or encodes, something the
// gateway could reach if it were fooled: the names are mapped to the origin, and the IP literals spell the
// origin's own address. Each case checks the status, that the origin saw no connection, and that the
// gateway still opens a good tunnel afterwards. test/e2e/deny.test.ts has the basic forms; these extend it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { startHttpOrigin, startTcpSink, type HttpOrigin, type TcpSink } from '../fixtures/origin.js';
import { parseHead, rawExchange, statusCodes } from '../fixtures/raw-client.js';
import { settle } from '../fixtures/process-stats.js';
import { expectRefusal, expectStillServes } from '../fixtures/refusal.js';
import { useStage } from '../fixtures/stage.js';

const GOOD = 'ws1.ods.opinsights.azure.com';
const MAPPED = ['*.ods.opinsights.azure.com', 'evil.example', '*.evil.example', 'ods.opinsights.azure.co', '*.ods.opinsights.azure.co'];

function connect(target: string, host = target): Buffer {
  return Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'utf8');
}

describe('allowlist bypass attempts on CONNECT', () => {
  const get = useStage({ resolveToOrigin: MAPPED });

  // ORIGIN stands for the origin's port, so a literal that were dialled would reach it.
  const cases: readonly { name: string; target: string; statuses: number[] }[] = [
    // Look-alike suffixes and names.
    { name: 'a hyphen for a dot', target: 'ws1.ods-opinsights.azure.com:443', statuses: [403] },
    { name: 'a missing dot', target: 'ws1.odsopinsights.azure.com:443', statuses: [403] },
    { name: 'a shorter TLD', target: 'ws1.ods.opinsights.azure.co:443', statuses: [403] },
    { name: 'the allowed suffix inside a longer label', target: `${GOOD}-evil.example:443`, statuses: [403] },
    { name: 'the allowed name as a subdomain of another', target: `${GOOD}.evil.example:443`, statuses: [403] },
    { name: 'two trailing dots', target: `${GOOD}..:443`, statuses: [400] },
    { name: 'a leading dot', target: `.${GOOD}:443`, statuses: [400] },
    // Unicode and punycode.
    { name: 'a Cyrillic homoglyph in the suffix', target: 'ws1.ods.opinsights.\u0430zure.com:443', statuses: [400] },
    { name: 'a punycode look-alike of the suffix', target: 'ws1.ods.opinsights.xn--zure-9na.com:443', statuses: [403] },
    { name: 'a full-width dot (NFKC turns it into .)', target: 'ws1.ods.opinsights.azure\uff0ecom:443', statuses: [400] },
    { name: 'a NUL byte before an allowed suffix', target: `evil.example\u0000.${GOOD}:443`, statuses: [400] },
    // IP literals, every spelling of the origin's address and the special ranges.
    { name: 'decimal IPv4', target: '2130706433:ORIGIN', statuses: [400] },
    { name: 'hexadecimal IPv4', target: '0x7f000001:ORIGIN', statuses: [400] },
    { name: 'octal IPv4', target: '0177.0000.0000.0001:ORIGIN', statuses: [400] },
    { name: 'zero-padded IPv4', target: '127.000.000.001:ORIGIN', statuses: [400] },
    { name: 'mixed-radix IPv4', target: '0x7f.1:ORIGIN', statuses: [400] },
    { name: 'IPv4-mapped IPv6 in hex', target: '[::ffff:7f00:1]:ORIGIN', statuses: [403] },
    { name: 'IPv4-mapped IPv6 written out', target: '[0:0:0:0:0:ffff:127.0.0.1]:ORIGIN', statuses: [403] },
    { name: 'IPv4-compatible IPv6', target: '[::127.0.0.1]:ORIGIN', statuses: [403] },
    { name: 'NAT64 of loopback', target: '[64:ff9b::7f00:1]:ORIGIN', statuses: [403] },
    { name: 'NAT64 of the metadata address', target: '[64:ff9b::a9fe:a9fe]:443', statuses: [403] },
    { name: '6to4 of loopback', target: '[2002:7f00:1::]:ORIGIN', statuses: [403] },
    { name: 'the CGNAT range', target: '100.64.0.1:443', statuses: [403] },
    { name: 'the unspecified IPv4 address', target: '0.0.0.0:ORIGIN', statuses: [403] },
    { name: 'the unspecified IPv6 address', target: '[::]:ORIGIN', statuses: [403] },
    { name: 'an IPv6 zone identifier', target: '[fe80::1%25lo]:ORIGIN', statuses: [400] },
    { name: 'an IPv6 literal without brackets', target: '::1:ORIGIN', statuses: [400] },
    { name: 'an IPv4 literal in brackets', target: '[127.0.0.1]:ORIGIN', statuses: [400] },
    { name: 'unbalanced brackets', target: '[::1:ORIGIN', statuses: [400] },
    // Percent-encoding and userinfo.
    { name: 'an encoded NUL after an allowed name', target: `${GOOD}%00.evil.example:443`, statuses: [400] },
    { name: 'a percent-encoded port', target: `${GOOD}:%34%34%33`, statuses: [400] },
    { name: 'user and password before an allowed name', target: `user:pass@${GOOD}:443`, statuses: [400] },
    { name: 'an allowed authority as userinfo of another', target: `${GOOD}:443@evil.example:443`, statuses: [400] },
    { name: 'a full-width at sign before the origin address', target: `${GOOD}\uff20127.0.0.1:ORIGIN`, statuses: [400] },
    { name: 'a backslash before an at sign', target: `${GOOD}\\@evil.example:443`, statuses: [400] },
    { name: 'a fragment marker', target: `${GOOD}:443#@evil.example`, statuses: [400] },
    { name: 'a path after the authority', target: `${GOOD}:443/../evil.example`, statuses: [400] },
    { name: 'a URI instead of an authority', target: `https://${GOOD}:443`, statuses: [400] },
    // Port tricks.
    { name: 'a zero-padded port', target: `${GOOD}:0443`, statuses: [400] },
    { name: 'a port that wraps around 65536', target: `${GOOD}:66979`, statuses: [400] },
    { name: 'a negative port', target: `${GOOD}:-443`, statuses: [400] },
    { name: 'a hexadecimal port', target: `${GOOD}:0x1bb`, statuses: [400] },
    { name: 'an exponent port', target: `${GOOD}:4.43e2`, statuses: [400] },
    { name: 'a port list', target: `${GOOD}:443,80`, statuses: [400] },
    { name: 'full-width digits in the port', target: `${GOOD}:\uff14\uff14\uff13`, statuses: [400] },
    { name: 'a trailing dot after the port', target: `${GOOD}:443.`, statuses: [400] },
    // Same name, same decision, whatever the spelling.
    { name: 'a denied name in upper case with a trailing dot', target: 'EVIL.EXAMPLE.:443', statuses: [403] },
  ];

  for (const { name, target, statuses } of cases) {
    test(`${statuses.join('/')}: ${name} (${JSON.stringify(target)})`, async () => {
      const { gateway, origin } = get();
      await expectRefusal(gateway, connect(target.replace('ORIGIN', String(origin.port))), { statuses, untouched: [origin] });
      await expectStillServes(gateway, `${GOOD}:443`, origin);
    });
  }

  for (const spelling of [GOOD.toUpperCase(), `${GOOD}.`, 'Ws1.Ods.OpInsights.Azure.Com.']) {
    test(`an allowed name spelt ${JSON.stringify(spelling)} is allowed like the name itself`, async () => {
      const { gateway, origin } = get();
      const since = gateway.records.length;
      await expectStillServes(gateway, `${spelling}:443`, origin);
      const record = await gateway.waitForRecord((r) => r.event === 'request-allowed', 5000, since);
      assert.equal(record.target, `${GOOD}:443`);
    });
  }
});

describe('the Host header of a CONNECT never chooses the destination', () => {
  let target: TcpSink;
  let hostSink: TcpSink;
  let gateway: Gateway;
  before(async () => {
    target = await startTcpSink();
    hostSink = await startTcpSink();
    // Both names are allowed and reachable: only the request line may decide which one is dialled. Raw bytes
    // go through these tunnels, so TLS inspection is off.
    gateway = await startGateway({
      configYaml: 'workers: 1\ninspection:\n  enabled: false\n',
      args: [
        '--allow-host', 'target.example', '--allow-host', 'host-header.example',
        '--resolve', `target.example=127.0.0.1:${target.port}`,
        '--resolve', `host-header.example=127.0.0.1:${hostSink.port}`,
      ],
    });
  });
  after(async () => {
    await gateway.stop();
    await target.close();
    await hostSink.close();
  });

  for (const host of ['host-header.example:443', 'host-header.example', '127.0.0.1:0', undefined]) {
    test(`CONNECT target.example:443 with ${host === undefined ? 'no Host' : `Host ${host}`} tunnels to target.example`, async () => {
      const before = { target: target.connections, host: hostSink.connections };
      const marker = `through-the-tunnel-${host}`;
      const hostLine = host === undefined ? '' : `Host: ${host}\r\n`;
      const result = await rawExchange(gateway.port, `CONNECT target.example:443 HTTP/1.1\r\n${hostLine}\r\n${marker}`, { endAfterWrite: true });
      assert.equal(parseHead(result.data).status, 200);
      await settle(() => target.received.includes(marker), Boolean, 3000);
      assert.ok(target.received.includes(marker), 'the bytes reached the CONNECT target');
      assert.equal(target.connections, before.target + 1);
      assert.equal(hostSink.connections, before.host, 'the Host header name was dialled');
    });
  }

  test('two Host headers are refused with 400 before anything is dialled', async () => {
    await expectRefusal(gateway, 'CONNECT target.example:443 HTTP/1.1\r\nHost: target.example:443\r\nHost: host-header.example:443\r\n\r\n', {
      statuses: [400],
      untouched: [target, hostSink],
    });
    await expectStillServes(gateway, 'target.example:443', target);
  });
});

describe('allowlist bypass attempts on absolute-URI requests', () => {
  let origin: HttpOrigin;
  let elsewhere: TcpSink;
  let gateway: Gateway;
  before(async () => {
    origin = await startHttpOrigin();
    elsewhere = await startTcpSink();
    gateway = await startGateway({
      args: [
        '--allow-host', 'plain.example:80',
        '--resolve', `plain.example=127.0.0.1:${origin.port}`,
        '--resolve', `evil.example=127.0.0.1:${elsewhere.port}`,
        '--resolve', `*.ods.opinsights.azure.com=127.0.0.1:${elsewhere.port}`,
      ],
    });
  });
  after(async () => {
    await gateway.stop();
    await origin.close();
    await elsewhere.close();
  });

  const cases: readonly { name: string; url: string; host?: string; statuses: number[] }[] = [
    { name: 'userinfo naming the allowed host', url: 'http://plain.example:80@evil.example/', host: 'evil.example', statuses: [400] },
    { name: 'a backslash before the at sign', url: 'http://plain.example\\@evil.example/', host: 'evil.example', statuses: [400] },
    { name: 'an encoded slash before the at sign', url: 'http://plain.example%2f@evil.example/', host: 'evil.example', statuses: [400] },
    { name: 'a bracketed name', url: 'http://[plain.example]/', host: 'plain.example', statuses: [400] },
    { name: 'a scheme-relative target', url: '//evil.example/', host: 'evil.example', statuses: [400] },
    { name: 'a port the entry does not list', url: 'http://plain.example:8080/', host: 'plain.example:8080', statuses: [403] },
    { name: 'the origin address as a decimal number', url: 'http://2130706433/', host: '2130706433', statuses: [400] },
    { name: 'an allowed name with another Host header', url: 'http://plain.example/', host: 'evil.example', statuses: [400] },
    { name: 'a name allowed only for CONNECT', url: 'http://ws1.ods.opinsights.azure.com/', host: 'ws1.ods.opinsights.azure.com', statuses: [403] },
    { name: 'an ftp URI', url: 'ftp://plain.example/', host: 'plain.example', statuses: [400] },
  ];
  for (const { name, url, host, statuses } of cases) {
    test(`${statuses.join('/')}: ${name} (${url})`, async () => {
      const hostLine = host === undefined ? '' : `Host: ${host}\r\n`;
      await expectRefusal(gateway, `GET ${url} HTTP/1.1\r\n${hostLine}\r\n`, { statuses, untouched: [origin, elsewhere] });
      const good = await rawExchange(gateway.port, 'GET http://plain.example/hello HTTP/1.1\r\nHost: plain.example\r\nConnection: close\r\n\r\n');
      assert.deepEqual(statusCodes(good.data), [200], 'a good request afterwards is served');
      assert.equal(origin.requests.at(-1)?.url, '/hello');
    });
  }
});
