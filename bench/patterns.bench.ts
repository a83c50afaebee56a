// Allowlist lookup cost against the number of entries: the claim in src/policy/patterns.ts is that a lookup
// grows with the labels of the host, not with the entries. Run: npx tsc -p tsconfig.json &&
// node dist/bench/patterns.bench.js — prints nanoseconds per lookup for 10, 1,000 and 100,000 entries of each
// kind (exact names, `*.suffix` wildcards, in-label `prefix*` wildcards sharing one suffix).
import { PatternMap } from '../src/policy/patterns.js';

const LOOKUPS = 200_000;
const HOSTS = ['azgn7f3a.servicebus.windows.net', 'a.b.c.blob.core.windows.net', 'global.handler.control.monitor.azure.com', 'example.com'];

function build(count: number): PatternMap<number> {
  const map = new PatternMap<number>();
  for (let i = 0; i < count; i++) {
    map.add(`host${i}.example.net`, i);
    map.add(`*.zone${i}.example.net`, i);
    map.add(`p${i}*.servicebus.windows.net`, i);
  }
  map.add('azgn*.servicebus.windows.net', -1);
  map.add('*.blob.core.windows.net', -1);
  map.add('global.handler.control.monitor.azure.com', -1);
  return map;
}

function nsPerLookup(map: PatternMap<number>): number {
  let found = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < LOOKUPS; i++) found += map.match(HOSTS[i % HOSTS.length] ?? '').length;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (found === 0) throw new Error('nothing matched: the benchmark measures nothing');
  return elapsed / LOOKUPS;
}

for (const count of [10, 1_000, 100_000]) {
  const map = build(count);
  nsPerLookup(map); // warm-up
  process.stdout.write(`${String(count * 3).padStart(7)} entries: ${nsPerLookup(map).toFixed(0)} ns per lookup\n`);
}
