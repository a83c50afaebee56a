// deploy/prometheus/ as Prometheus's own tool reads it: the example configuration and the rules are valid,
// every alert has unit tests in alerts.test.yml, and those tests pass.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../fixtures/gateway.js';
import { requireCommand, runCommand } from '../fixtures/tools.js';

const DIR = join(REPO_ROOT, 'deploy', 'prometheus');
const RULES = join(DIR, 'alerts.yml');
const TESTS = join(DIR, 'alerts.test.yml');

interface RuleFile {
  readonly groups: readonly { readonly rules: readonly { readonly alert?: string; readonly labels?: { readonly severity?: string } }[] }[];
}

interface TestFile {
  readonly tests: readonly { readonly alert_rule_test?: readonly { readonly alertname: string; readonly exp_alerts: readonly unknown[] }[] }[];
}

test('promtool check config accepts the example Prometheus configuration, with the rules it loads', async () => {
  requireCommand('promtool');
  const result = await runCommand('promtool', ['check', 'config', join(DIR, 'prometheus.yml')]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS: 1 rule files found/);
});

test('promtool check rules accepts the alert rules', async () => {
  requireCommand('promtool');
  const result = await runCommand('promtool', ['check', 'rules', RULES]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS: \d+ rules found/);
});

test('promtool test rules passes the unit tests', async () => {
  requireCommand('promtool');
  const result = await runCommand('promtool', ['test', 'rules', TESTS]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /SUCCESS/);
});

test('every alert has a severity, a case where it fires and one where it must not', async () => {
  const rules = parse(await readFile(RULES, 'utf8')) as RuleFile;
  const tests = parse(await readFile(TESTS, 'utf8')) as TestFile;
  const alerts = rules.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);
  const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
  const issueAlerts = ['OmsGatewayDown', 'OmsGatewayReportModeLeftOn', 'OmsGatewayRejectionsRising', 'OmsGatewayUpstreamErrors', 'OmsGatewayAuthFailuresSpike', 'OmsGatewayConnectionsNearLimit', 'OmsGatewayCertificateExpiresSoon', 'OmsGatewayConfigReloadFailed'];
  for (const name of issueAlerts) assert.ok(alerts.some((rule) => rule.alert === name), `${name} is missing`);
  for (const rule of alerts) {
    assert.match(rule.labels?.severity ?? '', /^(warning|critical)$/, `${rule.alert}: severity`);
    const own = cases.filter((c) => c.alertname === rule.alert);
    assert.ok(own.some((c) => c.exp_alerts.length > 0), `${rule.alert} never fires in alerts.test.yml`);
    assert.ok(own.some((c) => c.exp_alerts.length === 0), `${rule.alert} has no case where it stays silent`);
  }
});
