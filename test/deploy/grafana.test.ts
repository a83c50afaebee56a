// deploy/grafana/oms-gateway.json: an importable dashboard whose every query names metrics that a real
// gateway exports (checked against a scrape), with the panels the issue asks for.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scrapeMetrics } from '../fixtures/exchange.js';
import { REPO_ROOT, startGateway, type Gateway } from '../fixtures/gateway.js';

const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'oms-gateway.json');

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid: string };
  readonly targets?: readonly { readonly expr: string; readonly refId: string }[];
}

interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string }[] };
}

/** Names PromQL functions, keywords and label names take in these queries; anything else is a metric. */
const NOT_METRICS = new Set([
  'sum', 'min', 'max', 'count', 'topk', 'by', 'rate', 'increase', 'histogram_quantile', 'time',
  'instance', 'job', 'le', 'reason', 'outcome', 'direction', 'kind', 'result', 'entry', 'workspace', 'closed_by', 'version',
]);
/** Series Prometheus makes itself rather than scrapes. */
const FROM_PROMETHEUS = new Set(['up']);

/** Metric names in a PromQL expression: identifiers outside quotes, braces and [ranges], less functions and labels. */
function metricNames(expr: string): string[] {
  const bare = expr.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const words = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(words.filter((word) => !NOT_METRICS.has(word) && !/^\d/.test(word)))];
}

let dashboard: Dashboard;
let gateway: Gateway;
let exported: Set<string>;

before(async () => {
  dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  gateway = await startGateway({ configYaml: 'workers: 1\n' });
  assert.ok(gateway.metricsBaseUrl !== undefined);
  const { text } = await scrapeMetrics(gateway.metricsBaseUrl);
  // Families are declared up front, so every name has a TYPE line even before it has a sample.
  exported = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (name === undefined) continue;
    exported.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`);
  }
});
after(() => gateway?.stop());

test('every metric a dashboard query names is in a real scrape of the gateway', () => {
  const missing: string[] = [];
  let names = 0;
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      for (const name of metricNames(target.expr)) {
        names += 1;
        if (!exported.has(name) && !FROM_PROMETHEUS.has(name)) missing.push(`${panel.title}: ${name}`);
      }
    }
  }
  assert.ok(names > 30, `only ${names} metric names found: the name extraction is broken`);
  assert.deepEqual(missing, []);
});

test('the metric-name extraction itself', () => {
  assert.deepEqual(metricNames('histogram_quantile(0.9, sum by (le) (rate(a_bucket{instance=~"$instance", x="y z"}[5m])))'), ['a_bucket']);
  assert.deepEqual(metricNames('sum(b_total{job="oms-gateway"}) / max(c)'), ['b_total', 'c']);
});

test('the panels an operator looks for', () => {
  const titles = dashboard.panels.map((panel) => panel.title);
  for (const title of ['Connected agents', 'Active tunnels', 'Throughput', 'Refusals by reason', 'Upstream connect time (percentiles)', 'Traffic per workspace (top 10)', 'Traffic per allowlist entry']) {
    assert.ok(titles.includes(title), `no "${title}" panel`);
  }
});

test('report mode shows: whether the policy is enforced, and what it would deny, by reason', () => {
  const expr = (title: string): string => dashboard.panels.find((panel) => panel.title === title)?.targets?.[0]?.expr ?? '';
  assert.equal(expr('Policy enforcing'), 'min(oms_gateway_policy_enforcing{instance=~"$instance"})');
  assert.equal(expr('Would-deny (report mode)'), 'sum by (reason) (rate(oms_gateway_would_deny_total{instance=~"$instance"}[5m])) * 60');
});

test('importable: a stable uid, unique panel ids and refIds, and every query on the chosen data source', () => {
  assert.equal(dashboard.uid, 'oms-gateway');
  const ids = dashboard.panels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
  assert.ok(dashboard.templating.list.some((v) => v.name === 'instance'));
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
    const refIds = (panel.targets ?? []).map((target) => target.refId);
    assert.equal(new Set(refIds).size, refIds.length, panel.title);
    for (const target of panel.targets ?? []) assert.match(target.expr, /instance=~"\$instance"/, `${panel.title}: ${target.expr}`);
  }
});
