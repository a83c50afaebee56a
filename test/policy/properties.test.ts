// Property-based tests of the allowlist decision, from the parsed target onwards, over every built-in
// preset of every cloud plus operator entries of each pattern kind: no generated name the allowlist does not
// cover is ever allowed (names are generated close to the allowed ones: look-alikes, suffix tricks, extra
// or missing labels), and every allowed name stays allowed, by the same entry, under case changes and a
// trailing dot. The oracle is written independently of PatternMap and errs on the permissive side, so a
// disagreement is always the policy allowing too much. Bounded in CI; `npm run fuzz` sets FUZZ_RUNS=20000.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseConfigText } from '../../src/config/load.js';
import type { AllowEntryConfig } from '../../src/policy/config-types.js';
import { compilePolicy, decide } from '../../src/policy/decide.js';
import { parseAuthority } from '../../src/policy/target.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

const config = parseConfigText(
  [
    'cloud: [public, usgov, china]',
    'agents: [legacy, ama, arc, hybrid-worker]',
    'allowedHosts:',
    '  - crl.microsoft.example:80,443',
    '  - "*.corp.example:8443"',
    '  - "edge*.cdn.example"',
    '  - 10.1.2.3',
    '',
  ].join('\n'),
  'properties.yaml',
);
const policy = compilePolicy(config.policy);
const entries = config.policy.allowlist;

/** Whether `host` is covered by `pattern`, by string operations alone. */
function covers(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  const star = pattern.indexOf('*');
  if (star === -1) return host === pattern;
  const rest = pattern.slice(pattern.indexOf('.'));
  const label = host.slice(0, host.length - rest.length);
  return host.endsWith(rest) && !label.includes('.') && label.startsWith(pattern.slice(0, star)) && label.endsWith(pattern.slice(star + 1, pattern.indexOf('.')));
}

function oracleAllows(host: string, port: number): boolean {
  return entries.some((entry) => covers(entry.pattern, host) && entry.ports.includes(port));
}

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);

/** A name the entry allows: its wildcard filled in with generated labels. */
function instance(entry: AllowEntryConfig): fc.Arbitrary<string> {
  const { pattern } = entry;
  if (pattern.startsWith('*.')) return fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => `${labels.join('.')}${pattern.slice(1)}`);
  // A star inside a label stands for at least one character.
  if (pattern.includes('*')) return fc.stringMatching(/^[a-z0-9]{1,6}$/).map((fill) => pattern.replace('*', fill));
  return fc.constant(pattern);
}

const allowedEntry = fc.constantFrom(...entries);
const allowedName = allowedEntry.chain((entry) => fc.tuple(fc.constant(entry), instance(entry), fc.constantFrom(...entry.ports)));

/** Small edits that keep a name close to an allowed one. */
const mutation = fc.oneof(
  fc.tuple(fc.nat(), label).map(([at, text]) => (name: string) => `${name.slice(0, at % (name.length + 1))}${text}${name.slice(at % (name.length + 1))}`),
  fc.nat().map((at) => (name: string) => name.slice(0, at % name.length) + name.slice((at % name.length) + 1)),
  fc.nat().map((at) => (name: string) => name.replace(/\./g, (dot, offset: number) => (offset === at % name.length ? '-' : dot))),
  label.map((text) => (name: string) => `${name}.${text}`),
  label.map((text) => (name: string) => `${name}${text}`),
  fc.constant((name: string) => name.split('.').slice(1).join('.')),
  fc.constant((name: string) => name.replace(/\.[^.]+$/, '')),
);
const nearName = fc.tuple(allowedName, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 65535 })).map(
  ([[, name, port], edits, otherPort]) => ({ name: edits.reduce((current, edit) => edit(current), name), port: otherPort % 3 === 0 ? otherPort : port }),
);

test('no generated name outside the allowlist is ever allowed', () => {
  const candidate = fc.oneof(nearName, fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([name, port]) => ({ name, port })));
  fc.assert(
    fc.property(candidate, ({ name, port }) => {
      const parsed = parseAuthority(`${name}:${port}`);
      if (!parsed.ok) return;
      const decision = decide(policy, { target: parsed.target, client: '192.0.2.1', user: undefined });
      if (decision.allow) assert.ok(oracleAllows(parsed.target.host, port), `${name}:${port} allowed by ${decision.entry}`);
    }),
    { numRuns: RUNS },
  );
});

test('every allowed name stays allowed, by the same entry, under case changes and a trailing dot', () => {
  const spelt = allowedName.chain(([entry, name, port]) => fc.tuple(fc.constant(entry), fc.constant(name), fc.constant(port), fc.mixedCase(fc.constant(name)), fc.boolean()));
  fc.assert(
    fc.property(spelt, ([, name, port, mixed, dot]) => {
      const plain = parseAuthority(`${name}:${port}`);
      const variant = parseAuthority(`${mixed}${dot ? '.' : ''}:${port}`);
      assert.ok(plain.ok && variant.ok, `${name} or its variant did not parse`);
      const first = decide(policy, { target: plain.target, client: '192.0.2.1', user: undefined });
      const second = decide(policy, { target: variant.target, client: '192.0.2.1', user: undefined });
      assert.equal(first.allow, true, `${name}:${port} is not allowed`);
      assert.deepEqual(second, first);
    }),
    { numRuns: RUNS },
  );
});
