import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LISTEN_EXPECTED,
  MAPPING_EXPECTED,
  parseHostMapping,
  parseListenAddress,
  parseWorkspaceId,
} from '../../src/config/forms.js';

describe('parseListenAddress', () => {
  const accepted: [string, string, number][] = [
    ['0.0.0.0:8080', '0.0.0.0', 8080],
    ['127.0.0.1:0', '127.0.0.1', 0],
    ['[::]:8080', '::', 8080],
    ['[::1]:65535', '::1', 65535],
    ['[2001:DB8:0:0::1]:443', '2001:db8::1', 443],
  ];
  for (const [text, host, port] of accepted) {
    test(`accepts ${text}`, () => assert.deepEqual(parseListenAddress(text), { ok: true, value: { host, port, optional: false } }));
  }

  const HOST = `HOST must be an IP address, IPv6 in brackets as in [::]:8080; ${LISTEN_EXPECTED}`;
  const PORT = `PORT must be a whole number 0-65535 (0 lets the system choose); ${LISTEN_EXPECTED}`;
  const refused: [string, string][] = [
    ['', LISTEN_EXPECTED],
    ['8080', LISTEN_EXPECTED],
    [':8080', LISTEN_EXPECTED],
    ['0.0.0.0', LISTEN_EXPECTED],
    ['localhost:8080', HOST],
    ['::1:8080', HOST],
    ['[::1]8080', HOST],
    ['[gateway]:8080', HOST],
    ['0177.0.0.1:8080', HOST],
    ['0.0.0.0:', PORT],
    ['0.0.0.0:65536', PORT],
    ['0.0.0.0:080', PORT],
    ['0.0.0.0:+80', PORT],
    ['0.0.0.0:80 ', PORT],
  ];
  for (const [text, message] of refused) {
    test(`refuses ${JSON.stringify(text)}`, () => assert.deepEqual(parseListenAddress(text), { ok: false, message }));
  }
});

describe('parseHostMapping', () => {
  const accepted: [string, string, string, number | undefined][] = [
    ['*.ods.opinsights.azure.com=127.0.0.1:18443', '*.ods.opinsights.azure.com', '127.0.0.1', 18443],
    ['ods.systemcenteradvisor.com=10.1.2.3', 'ods.systemcenteradvisor.com', '10.1.2.3', undefined],
    ['a.example.com=[::1]:443', 'a.example.com', '::1', 443],
    ['a.example.com=[::1]', 'a.example.com', '::1', undefined],
    ['a.example.com=::ffff:7f00:1', 'a.example.com', '::ffff:7f00:1', undefined],
    ['a.example.com=Proxy.Corp.Example.:8443', 'a.example.com', 'proxy.corp.example', 8443],
  ];
  for (const [text, pattern, address, port] of accepted) {
    test(`accepts ${text}`, () => assert.deepEqual(parseHostMapping(text), { ok: true, value: { pattern, address, port } }));
  }

  const refused: [string, RegExp][] = [
    ['a.example.com', /^expected PATTERN=ADDRESS\[:PORT\]/],
    ['=127.0.0.1', /^PATTERN: /],
    ['*.com=127.0.0.1', /^PATTERN: /],
    ['a.example.com=', /^ADDRESS: /],
    ['a.example.com=user@host', /^ADDRESS: /],
    ['a.example.com=1.2.3.4:0', /^PORT must be a whole number 1-65535; /],
    ['a.example.com=1.2.3.4:99999', /^PORT must be a whole number 1-65535; /],
    ['a.example.com=[::1]:', /^PORT must be a whole number 1-65535; /],
  ];
  for (const [text, message] of refused) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      const result = parseHostMapping(text);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.match(result.message, message);
        assert.ok(result.message.endsWith(MAPPING_EXPECTED));
      }
    });
  }
});

describe('parseWorkspaceId', () => {
  test('accepts a GUID in any case and lower-cases it', () => {
    assert.deepEqual(parseWorkspaceId('0D4F5E6A-1b2c-4D3E-8F9A-0B1C2D3E4F5A'), {
      ok: true,
      value: '0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a',
    });
  });
  for (const text of ['', 'workspace', '0d4f5e6a1b2c4d3e8f9a0b1c2d3e4f5a', '{0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a}', '0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5g']) {
    test(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseWorkspaceId(text).ok, false));
  }
});
