// The README is the pitch and the tasks, not the manual: short, with a table of contents that reaches every
// task an administrator starts from (install, upgrade, mixed authentication among them), and the quick start
// runs the same test step CI runs.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { anchorOf, readDoc, ROOT, section } from './markdown.js';

const README = readDoc('README.md');

test('the README stays about 20 KB at most', () => {
  assert.ok(Buffer.byteLength(README) <= 20_480, `README.md is ${Buffer.byteLength(README)} bytes`);
});

test('the table of contents links every section of the README, install, upgrade and mixed authentication among them', () => {
  const contents = section(README, '## Contents');
  const linked = new Set([...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]));
  for (const anchor of ['install', 'quick-start', 'point-the-agents-at-the-gateway', 'configure', 'mixed-authentication', 'operate', 'monitor', 'upgrade']) {
    assert.ok(linked.has(anchor), `#${anchor} is not in the table of contents`);
  }
  const sections = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1] ?? '').filter((title) => title !== 'Contents');
  for (const title of sections) {
    assert.ok(linked.has(anchorOf(title)), `section "${title}" is not in the table of contents`);
  }
});

test('the quick start installs the test tools with the script CI runs, then runs the test command CI runs', () => {
  const quickStart = section(README, '## Quick start');
  assert.match(quickStart, /^scripts\/install-test-tools\.sh && npm ci && npm test\b/m);
  const ci = readDoc('.ci/run');
  assert.match(ci, /^scripts\/install-test-tools\.sh$/m, '.ci/run installs the tools with the same script');
  assert.match(ci, /^npm ci && npm test$/m, ".ci/run runs the README's test command");
});

test('the README links every page under docs/', () => {
  const pages = readdirSync(`${ROOT}docs`).filter((name) => name.endsWith('.md'));
  assert.ok(pages.includes('upgrade.md') && pages.includes('configuration.md'));
  const documentation = section(README, '## Documentation');
  for (const page of pages) assert.ok(documentation.includes(`](docs/${page})`), `docs/${page} is not in the README's Documentation section`);
});
