// The error table (src/proxy/errors.ts) as a table: each code's status, its row in docs/responses.md with
// that status, and at least one test that provokes it. A test provokes a code when its source names the
// code in quotes (an expected answer, reason or metric label); a mention as an audit event name
// (`event === 'bad-request'`) does not count, nor do these table tests and the docs tests.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { PROXY_ERRORS, type ProxyErrorCode } from '../../src/proxy/errors.js';
import { codeOf, readDoc, ROOT, tableRows } from '../docs/markdown.js';

const STATUS: Record<ProxyErrorCode, number> = {
  'bad-request': 400,
  'bad-target': 400,
  'not-a-proxy-request': 400,
  'host-mismatch': 400,
  'body-on-connect': 400,
  'https-not-via-connect': 400,
  'unsafe-framing': 400,
  'connection-names-framing': 400,
  'bad-max-forwards': 400,
  'trace-not-allowed': 405,
  'max-forwards-reached': 405,
  'http-version-not-supported': 505,
  'upgrade-not-supported': 501,
  'expectation-failed': 417,
  'denied': 403,
  'plain-http-to-tls-port': 403,
  'auth-required': 407,
  'tls-required': 400,
  'plain-credentials': 403,
  'dns-failure': 502,
  'connect-refused': 502,
  'network-error': 502,
  'upstream-error': 502,
  'connect-timeout': 504,
  'relay-refused': 502,
  'relay-unreachable': 502,
  'relay-timeout': 504,
  'shutting-down': 503,
  'duplicate-host': 400,
  'request-timeout': 408,
  'uri-too-long': 414,
  'too-many-headers': 431,
  'header-too-large': 431,
  'too-many-connections': 503,
  'client-connection-limit': 429,
  'user-tunnel-limit': 429,
  'auth-locked': 429,
  'auth-concurrent': 429,
  'auth-busy': 503,
  'out-of-resources': 503,
};

const EXCLUDED = new Set(['test/proxy/error-table.test.ts']);

function testSources(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testSources(path);
    const name = relative(ROOT, path);
    if (!entry.name.endsWith('.test.ts') || EXCLUDED.has(name) || name.startsWith('test/docs/')) return [];
    // Audit event names share some codes' spelling; naming the event provokes nothing.
    return [{ path: name, text: readFileSync(path, 'utf8').replace(/event\s*(===|:)\s*'[^']*'/g, '') }];
  });
}

const sources = testSources(join(ROOT, 'test'));
const documented = new Map(tableRows(readDoc('docs/responses.md')).map((cells) => [codeOf(cells[1] ?? ''), Number(cells[0])]));

test('the table holds exactly the codes listed here', () => {
  assert.deepEqual(Object.keys(PROXY_ERRORS).sort(), Object.keys(STATUS).sort());
});

for (const [code, entry] of Object.entries(PROXY_ERRORS) as [ProxyErrorCode, (typeof PROXY_ERRORS)[ProxyErrorCode]][]) {
  test(`${code}: ${STATUS[code]}, documented, provoked by a test`, () => {
    assert.equal(entry.status, STATUS[code], 'status');
    assert.equal(documented.get(code), STATUS[code], 'the row of docs/responses.md');
    const quoted = new RegExp(`['"\`]${code}['"\`]`);
    const provoking = sources.filter(({ text }) => quoted.test(text)).map(({ path }) => path);
    assert.ok(provoking.length > 0, `no test under test/ names '${code}'`);
  });
}
