// The reload audit of issue 18 as a table: every key of the effective configuration either applies at
// reload or is read only at start, and a reload keeps the running value of the start-only ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffConfigs } from '../../src/config/diff.js';
import { parseConfigText, redactConfig } from '../../src/config/load.js';
import { APPLIED_AT_RELOAD, isStartOnly, pinnedChanges, pinnedKeys, scopeReload } from '../../src/config/reload-scope.js';

function config(text: string) {
  return parseConfigText(text, '/etc/oms-gateway/oms-gateway.yaml');
}

function leaves(value: unknown, key: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [key];
  return Object.entries(value).flatMap(([name, child]) => leaves(child, key === '' ? name : `${key}.${name}`));
}

test('every key of the configuration is classified: applied at reload, or read only at start', () => {
  const keys = leaves(redactConfig(config('')), '').filter((key) => key !== 'sourcePath');
  const applied = (key: string): boolean => Object.keys(APPLIED_AT_RELOAD).some((prefix) => key === prefix || key.startsWith(`${prefix}.`));
  const unclassified = keys.filter((key) => !applied(key) && !isStartOnly(key, true));
  assert.deepEqual(unclassified, []);
  const both = keys.filter((key) => applied(key) && isStartOnly(key, true));
  assert.deepEqual(both, [], 'a key is listed as applied and as start-only');
});

test('start-only keys keep their running value; the others take the new one', () => {
  const before = config('workers: 1\nlimits:\n  maxHeaderBytes: 4096\n  maxConnections: 100\nlog:\n  file: /var/log/a.log\n');
  const after = config('workers: 4\nlimits:\n  maxHeaderBytes: 8192\n  maxConnections: 200\nlog:\n  file: /var/log/b.log\n');
  const changes = diffConfigs(before, after);
  const single = scopeReload(before, after, changes, false);
  assert.deepEqual(single.restartRequired.map((c) => c.key).sort(), ['limits.maxHeaderBytes', 'log.file', 'workers']);
  assert.deepEqual([single.config.workers, single.config.limits.maxHeaderBytes, single.config.log.file, single.config.limits.maxConnections], [1, 4096, '/var/log/a.log', 200]);
  assert.ok(Object.isFrozen(single.config.limits));
  const clustered = scopeReload(before, after, changes, true);
  assert.equal(clustered.config.workers, 4, 'a supervisor applies a new worker count');
  assert.ok(!clustered.restartRequired.some((c) => c.key === 'workers'));
  const unchanged = scopeReload(before, before, [], false);
  assert.equal(unchanged.config, before);
});

test('flags pin their keys: a change of the file under one is reported with the flag', () => {
  const pins = pinnedKeys({ agents: 'ama', listen: ['127.0.0.1:8080'], logLevel: undefined, resolve: ['a.example.com=127.0.0.1'] });
  assert.deepEqual(pins, [{ flag: '--listen', key: 'listen' }, { flag: '--agents', key: 'policy.agents' }]);
  assert.deepEqual(pinnedKeys({ listen: [] }), [], 'an empty --listen list keeps the file\'s listeners');
  const changes = diffConfigs(config('agents: [ama]\ntimeouts:\n  connectSeconds: 5\n'), config('agents: [legacy]\ntimeouts:\n  connectSeconds: 6\n'));
  assert.deepEqual(pinnedChanges(changes, pins).map(({ key, flag }) => [key, flag]), [['policy.agents', '--agents']]);
});
