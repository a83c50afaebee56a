// The reference pages under docs/ agree with the tables in the code they describe: every refusal code with
// its status and Retry-After, every audit event with its ID, every metric with its type and labels, every
// command and flag of the usage text, and every setting with its default. Each check runs both ways, so a
// page that lists something the code lacks fails as well as one that misses something the code has.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ClusterMetrics } from '../../src/cluster/metrics.js';
import { parseConfigText } from '../../src/config/load.js';
import { configFileSchema, listenerTlsSchema, PROXY_PROTOCOL_DEFAULTS } from '../../src/config/schema.js';
import { readSettings } from '../../src/config/settings.js';
import { USAGE } from '../../src/cli/usage.js';
import { EVENTS } from '../../src/observability/events.js';
import { METRIC_PREFIX } from '../../src/observability/metrics.js';
import { PROXY_ERRORS, retryAfterSeconds, type ProxyErrorCode } from '../../src/proxy/errors.js';
import { codeOf, codesIn, readDoc, section, tableRows } from './markdown.js';

/** Rows of a page's tables keyed by the code span of one column; a key documented twice fails. */
function rowsBy(page: string, column: number): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const cells of tableRows(readDoc(page))) {
    const key = codeOf(cells[column] ?? '');
    if (key === undefined) continue;
    assert.ok(!rows.has(key), `${page} documents ${key} twice`);
    rows.set(key, cells);
  }
  return rows;
}

test('docs/responses.md: every error code with its status and Retry-After, and no other code', () => {
  const rows = rowsBy('docs/responses.md', 1);
  for (const [code, entry] of Object.entries(PROXY_ERRORS)) {
    const cells = rows.get(code);
    assert.ok(cells, `${code} is not in docs/responses.md`);
    assert.equal(Number(cells[0]), entry.status, `${code}: status`);
    const retry = retryAfterSeconds(code as ProxyErrorCode);
    assert.equal(cells[2] === '' ? undefined : Number(cells[2]), retry, `${code}: Retry-After`);
  }
  assert.deepEqual([...rows.keys()].sort(), Object.keys(PROXY_ERRORS).sort());
});

test('docs/audit-events.md: every audit event with its ID, and no other event', () => {
  const rows = rowsBy('docs/audit-events.md', 1);
  for (const [name, id] of Object.entries(EVENTS)) {
    assert.equal(Number(rows.get(name)?.[0]), id, `${name} (${id}) in docs/audit-events.md`);
  }
  assert.deepEqual([...rows.keys()].sort(), Object.keys(EVENTS).sort());
});

async function gatewayMetrics(): Promise<Map<string, { type: string; labels: string[] }>> {
  // The supervisor's registry: every metric of a worker plus the supervisor's own.
  const metrics = new ClusterMetrics(parseConfigText('', 'defaults').metrics, () => Promise.resolve([]));
  const families = (await metrics.registry.getMetricsAsJSON()).filter((f) => f.name.startsWith(METRIC_PREFIX));
  return new Map(
    families.map((family) => {
      const metric = metrics.registry.getSingleMetric(family.name) as unknown as { labelNames?: readonly string[] };
      assert.ok(Array.isArray(metric.labelNames), `${family.name}: prom-client no longer exposes labelNames`);
      return [family.name, { type: String(family.type), labels: [...metric.labelNames] }];
    }),
  );
}

test('docs/metrics.md: every metric of ours with its type and labels, and no other', async () => {
  const code = await gatewayMetrics();
  assert.ok(code.has(`${METRIC_PREFIX}worker_restarts_total`) && code.has(`${METRIC_PREFIX}tunnels_total`));
  const rows = rowsBy('docs/metrics.md', 0);
  for (const [name, { type, labels }] of code) {
    const cells = rows.get(name);
    assert.ok(cells, `${name} is not in docs/metrics.md`);
    assert.equal(cells[1], type, `${name}: type`);
    assert.deepEqual(codesIn(cells[2] ?? '').sort(), [...labels].sort(), `${name}: labels`);
  }
  assert.deepEqual([...rows.keys()].sort(), [...code.keys()].sort());
});

const flagsIn = (text: string): Set<string> => new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
const COMMAND_LINE = 'docs/command-line.md';

test('docs/command-line.md: every command of the usage text, and no other', () => {
  const listed = [...USAGE.main!.matchAll(/^ {2}([a-z][a-z-]*)\s/gm)].map((m) => m[1] ?? '');
  const page = readDoc(COMMAND_LINE);
  const documented = tableRows(page.slice(0, page.indexOf('\n## ')))
    .map((cells) => /^\[`oms-gateway ([a-z-]+)`\]/.exec(cells[0] ?? '')?.[1])
    .filter((name) => name !== undefined);
  assert.deepEqual([...new Set(documented)].sort(), [...new Set(listed)].sort());
  assert.deepEqual(
    Object.keys(USAGE).filter((name) => name !== 'main').sort(),
    [...new Set(listed)].sort(),
    'every command has help text of its own',
  );
  const options = USAGE.main!.slice(USAGE.main!.indexOf('\nOptions:'));
  assert.ok(flagsIn(options).has('--version'));
  for (const flag of flagsIn(options)) assert.ok(page.slice(0, page.indexOf('\n## ')).includes(flag), `${flag} in the introduction`);
});

test('docs/command-line.md: each command section names every flag of its help text, and no other', () => {
  const page = readDoc(COMMAND_LINE);
  for (const [command, usage] of Object.entries(USAGE)) {
    if (command === 'main') continue;
    const text = section(page, `## \`oms-gateway ${command}\``);
    assert.deepEqual([...flagsIn(text)].sort(), [...flagsIn(usage)].sort(), `flags of ${command}`);
  }
});

/** Keys of a listener mapping, from the schemas the loader validates them with. */
function listenerKeys(): string[] {
  const objectOf = (schema: z.ZodType): z.ZodObject => {
    let inner: z.ZodType = schema;
    for (;;) {
      if (inner instanceof z.ZodObject) return inner;
      if (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault) inner = inner.unwrap() as z.ZodType;
      else if (inner instanceof z.ZodPipe) inner = inner.out as z.ZodType;
      else throw new Error('not an object schema');
    }
  };
  const leaves = (schema: z.ZodObject, prefix: string): string[] =>
    Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, child]) => {
      try {
        return leaves(objectOf(child), `${prefix}${key}.`);
      } catch {
        return [`${prefix}${key}`];
      }
    });
  const proxyProtocol = ['trusted', ...Object.keys(PROXY_PROTOCOL_DEFAULTS)].map((key) => `listen[].proxyProtocol.${key}`);
  return ['listen[].address', ...proxyProtocol, ...leaves(objectOf(listenerTlsSchema), 'listen[].tls.')];
}

/** Keys of a per-source rule (`clients[]`), from the schema the loader validates them with. */
function clientRuleKeys(): string[] {
  let inner: z.ZodType = configFileSchema.shape.clients;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
  if (!(inner instanceof z.ZodArray) || !(inner.element instanceof z.ZodObject)) throw new Error('clients is no longer a list of mappings');
  return Object.keys(inner.element.shape as Record<string, z.ZodType>).map((key) => `clients[].${key}`);
}

/** How a default shows in the page's default column. */
function documentsDefault(cell: string, value: unknown): boolean {
  if (value === null) return /\bnone\b/.test(cell);
  if (Array.isArray(value)) return value.length === 0 ? cell.includes('`[]`') : value.every((item) => codesIn(cell).includes(String(item)));
  return codesIn(cell).includes(String(value));
}

test('docs/configuration.md: every setting with its default, and no setting the loader lacks', () => {
  const rows = rowsBy('docs/configuration.md', 0);
  const settings = readSettings('', 'defaults').all();
  assert.ok(settings.some((s) => s.key === 'auth.throttle.windowSeconds'));
  for (const { key, value } of settings) {
    const cells = rows.get(key);
    assert.ok(cells, `${key} is not in docs/configuration.md`);
    // A single cloud is written as a scalar in the file, as in the page.
    const expected = key === 'cloud' && Array.isArray(value) && value.length === 1 ? value[0] : value;
    assert.ok(documentsDefault(cells[1] ?? '', expected), `${key}: default ${JSON.stringify(value)}, page says "${cells[1]}"`);
  }
  const listener = listenerKeys();
  assert.ok(listener.includes('listen[].tls.clientAuth.mode') && listener.includes('listen[].proxyProtocol.maxHeaderBytes'));
  const items = [...listener, ...clientRuleKeys()];
  assert.ok(items.includes('clients[].from'));
  for (const key of items) assert.ok(rows.has(key), `${key} is not in docs/configuration.md`);
  assert.deepEqual([...rows.keys()].sort(), [...settings.map((s) => s.key), ...items].sort());
});
