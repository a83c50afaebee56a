import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseParentUrl } from '../../src/config/parent-url.js';

const accepted: readonly [string, { protocol: string; host: string; port: number; url: string }][] = [
  ['http://proxy.corp.example:3128', { protocol: 'http', host: 'proxy.corp.example', port: 3128, url: 'http://proxy.corp.example:3128' }],
  ['HTTPS://Proxy.Corp.Example:8443/', { protocol: 'https', host: 'proxy.corp.example', port: 8443, url: 'https://proxy.corp.example:8443' }],
  ['http://10.0.0.1:8080', { protocol: 'http', host: '10.0.0.1', port: 8080, url: 'http://10.0.0.1:8080' }],
  ['http://[2001:db8::1]:3128', { protocol: 'http', host: '2001:db8::1', port: 3128, url: 'http://[2001:db8::1]:3128' }],
];
for (const [text, value] of accepted) {
  test(`accepts ${text}`, () => {
    assert.deepEqual(parseParentUrl(text), { ok: true, value });
  });
}

const refused: readonly [string, RegExp][] = [
  ['proxy.corp.example:3128', /scheme must be http:\/\/ or https:\/\//],
  ['socks5://proxy.corp.example:1080', /scheme must be/],
  ['http://proxy.corp.example', /the port is required/],
  ['http://[2001:db8::1]', /the port is required/],
  ['http://user:secret@proxy.corp.example:3128', /no user or password in the URL/],
  ['http://proxy.corp.example:3128/path', /no path, query or fragment/],
  ['http://proxy.corp.example:0', /PORT must be a whole number 1-65535/],
  ['http://proxy corp:3128', /HOST:/],
];
for (const [text, message] of refused) {
  test(`refuses ${text}`, () => {
    const result = parseParentUrl(text);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.match(result.message, message);
      assert.ok(!result.message.includes('secret'), 'the message repeats the input');
    }
  });
}
