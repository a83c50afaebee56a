// Every relative link and #anchor in README.md, CHANGELOG.md, config/presets.md and docs/*.md leads
// somewhere: the file or directory exists, and an anchor names a heading of its page (as GitHub makes them).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { anchorOf, ROOT } from './markdown.js';

const PAGES = ['README.md', 'CHANGELOG.md', 'config/presets.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The text outside fenced code blocks, where headings are headings. */
function unfenced(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** The anchors of a page's headings, as GitHub makes them; a repeated heading gets -1, -2, ... */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of unfenced(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchorOf(heading ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function links(text: string): string[] {
  // Inline code is no link: `[a](b)` in a code span stays text.
  return [...unfenced(text).replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((target) => !/^[a-z]+:/.test(target));
}

test('the anchors of headings are made as GitHub makes them', () => {
  assert.deepEqual(
    [...anchors('# TLS: an https:// proxy, certificates\n## `oms-gateway status`\n## Notes\n## Notes\n```\n# not a heading\n```\n')],
    ['tls-an-https-proxy-certificates', 'oms-gateway-status', 'notes', 'notes-1'],
  );
});

test('every relative link and anchor in README.md and docs/ resolves', () => {
  assert.ok(PAGES.length > 10, `only ${PAGES.length} pages`);
  const broken: string[] = [];
  let checked = 0;
  for (const page of PAGES) {
    if (!existsSync(join(ROOT, page))) {
      broken.push(`${page} does not exist`);
      continue;
    }
    const text = readFileSync(join(ROOT, page), 'utf8');
    for (const target of links(text)) {
      checked += 1;
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), path);
      if (!existsSync(file)) {
        broken.push(`${page}: ${target} (no ${relative(ROOT, file)})`);
        continue;
      }
      if (anchor !== undefined && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
    }
  }
  assert.ok(checked > 50, `only ${checked} links`);
  assert.deepEqual(broken, []);
});
