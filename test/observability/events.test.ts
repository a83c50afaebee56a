// The Windows gateway's event IDs keep their meaning in the audit event table. That the table and its
// documentation (docs/audit-events.md) agree is checked with the other reference pages in test/docs/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENTS } from '../../src/observability/events.js';

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
