// A reload that switches the policy to report mode says so as loudly as a start in report mode does.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { startGateway } from '../fixtures/gateway.js';

test('SIGHUP into report mode writes the NOT ENFORCING warning; back to enforce writes none', async (t) => {
  const gateway = await startGateway({ configYaml: 'workers: 2\npolicy:\n  mode: enforce\n' });
  t.after(() => gateway.stop());
  assert.equal(gateway.records.filter((r) => r.event === 'policy-not-enforced').length, 0);
  const configFile = gateway.configFile ?? assert.fail('no config file');

  let from = gateway.records.length;
  await writeFile(configFile, 'policy:\n  mode: report\n');
  process.kill(gateway.pid, 'SIGHUP');
  const warning = await gateway.waitForRecord((r) => r.event === 'policy-not-enforced', 20_000, from);
  assert.equal(warning.eventId, 1101);
  assert.match(String(warning.msg), /^NOT ENFORCING/);
  await gateway.waitForRecord((r) => r.event === 'config-reloaded', 20_000, from);
  // Once for the gateway, not once per worker.
  assert.equal(gateway.records.slice(from).filter((r) => r.event === 'policy-not-enforced').length, 1);

  from = gateway.records.length;
  await writeFile(configFile, 'policy:\n  mode: enforce\n');
  process.kill(gateway.pid, 'SIGHUP');
  await gateway.waitForRecord((r) => r.event === 'config-reloaded', 20_000, from);
  assert.equal(gateway.records.slice(from).filter((r) => r.event === 'policy-not-enforced').length, 0);
});
