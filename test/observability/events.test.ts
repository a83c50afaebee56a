// The audit event table and its documentation agree: every event is in the README's table with its ID, the
// table lists nothing else, and the Windows gateway's IDs keep their meaning.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { EVENTS } from '../../src/observability/events.js';

const README = new URL('../../../README.md', import.meta.url);

async function documentedEvents(): Promise<Map<string, number>> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('## Audit log'));
  const rows = section.slice(0, section.indexOf('\n## ')).matchAll(/^\| (\d+) \| `([a-z0-9-]+)` \|/gm);
  return new Map([...rows].map(([, id, name]) => [name ?? '', Number(id)]));
}

test('the README documents every audit event with its ID, and no other', async () => {
  const documented = await documentedEvents();
  for (const [name, id] of Object.entries(EVENTS)) assert.equal(documented.get(name), id, `${name} (${id}) in the README`);
  assert.deepEqual([...documented.keys()].sort(), Object.keys(EVENTS).sort());
});

test('the Windows gateway IDs mean what they mean in its event log; ours are 1000 and up', () => {
  const windows: Record<number, readonly string[]> = {
    100: ['signal-received'],
    101: ['service-started'],
    102: ['service-stopped'],
    103: ['request-allowed'],
    104: ['not-a-proxy-request'],
    105: ['request-denied'],
    106: ['tls-version-refused'],
    107: ['tls-verified'],
    200: ['client-reset'],
    400: ['error'],
    401: ['config-invalid'],
    402: ['tls-parse-error'],
    403: ['upstream-error'],
  };
  for (const [name, id] of Object.entries(EVENTS)) {
    if (id < 1000) assert.ok(windows[id]?.includes(name), `${name} uses Windows ID ${id}, which means something else there`);
  }
});
