// The settings of issue 8 as the loader reads them: workers (file and --workers), the DNS cache and the
// Happy Eyeballs delay, with their defaults and the message each bad value gets.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfigText } from '../../src/config/load.js';

function issuesOf(text: string, overrides: Parameters<typeof parseConfigText>[2] = {}): string[] {
  try {
    parseConfigText(text, 'perf.yaml', overrides);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((issue) => `${issue.key}: ${issue.message}`);
    throw err;
  }
  return [];
}

describe('performance settings', () => {
  test('defaults: one worker per core, a DNS cache of 10,000 names kept 10-300 s, 5 s for "no such name", 250 ms between addresses', () => {
    const config = parseConfigText('', 'perf.yaml');
    assert.equal(config.workers, 'auto');
    assert.deepEqual(config.dns, { cacheMaxEntries: 10_000, minTtlSeconds: 10, maxTtlSeconds: 300, negativeTtlSeconds: 5 });
    assert.equal(config.timeouts.connectAttemptDelaySeconds, 0.25);
  });

  const accepted = [
    { text: 'workers: auto', workers: 'auto' },
    { text: 'workers: 1', workers: 1 },
    { text: 'workers: 16', workers: 16 },
  ] as const;
  for (const { text, workers } of accepted) {
    test(`"${text}" is accepted`, () => assert.equal(parseConfigText(text, 'perf.yaml').workers, workers));
  }

  test('--workers replaces the file\'s value, in either form', () => {
    assert.equal(parseConfigText('workers: 4', 'perf.yaml', { workers: '2' }).workers, 2);
    assert.equal(parseConfigText('workers: 4', 'perf.yaml', { workers: 'auto' }).workers, 'auto');
  });

  test('workerScheduling: round-robin by default, kernel on request', () => {
    assert.equal(parseConfigText('', 'perf.yaml').workerScheduling, 'round-robin');
    assert.equal(parseConfigText('workerScheduling: kernel', 'perf.yaml').workerScheduling, 'kernel');
  });

  test('log.bufferBytes: 0 (a line at a time) by default, a block size on request', () => {
    assert.equal(parseConfigText('', 'perf.yaml').log.bufferBytes, 0);
    assert.equal(parseConfigText('log:\n  bufferBytes: 4096', 'perf.yaml').log.bufferBytes, 4096);
  });

  const refused = [
    { name: 'an unknown scheduling', text: 'workerScheduling: random', expected: /^workerScheduling: expected one of: round-robin, kernel$/ },
    { name: 'a log buffer beyond one write', text: 'log:\n  bufferBytes: 65536', expected: /^log\.bufferBytes: expected a whole number from 0 to 16000$/ },
    { name: 'no workers', text: 'workers: 0', expected: /^workers: expected auto or a whole number from 1 to 256$/ },
    { name: 'too many workers', text: 'workers: 257', expected: /^workers: expected auto or a whole number from 1 to 256$/ },
    { name: 'a fraction of a worker', text: 'workers: 1.5', expected: /^workers: expected auto or a whole number/ },
    { name: 'a word other than auto', text: 'workers: all', expected: /^workers: expected auto or a whole number/ },
    { name: 'a floor above the ceiling', text: 'dns:\n  minTtlSeconds: 600\n  maxTtlSeconds: 300', expected: /^dns\.minTtlSeconds: the floor is above dns\.maxTtlSeconds \(300\)/ },
    { name: 'a negative cache size', text: 'dns:\n  cacheMaxEntries: -1', expected: /^dns\.cacheMaxEntries: expected a whole number from 0 to 1000000$/ },
    { name: 'an unknown dns key', text: 'dns:\n  ttl: 5', expected: /^dns(\.ttl)?: unknown key; expected one of: cacheMaxEntries, minTtlSeconds, maxTtlSeconds, negativeTtlSeconds$/ },
    { name: 'an attempt delay under RFC 8305\'s 10 ms', text: 'timeouts:\n  connectAttemptDelaySeconds: 0.001', expected: /^timeouts\.connectAttemptDelaySeconds: expected a number of seconds from 0\.01 to 2$/ },
  ] as const;
  for (const { name, text, expected } of refused) {
    test(`refused: ${name}`, () => {
      const issues = issuesOf(text);
      assert.equal(issues.length, 1, issues.join('\n'));
      assert.match(issues[0] ?? '', expected);
    });
  }

  test('a bad --workers names the flag and the value', () => {
    assert.deepEqual(issuesOf('', { workers: 'many' }), ['--workers: "many": expected auto or a whole number from 1 to 256']);
  });
});
