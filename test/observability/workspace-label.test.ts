// Which hosts carry a workspace label, and the cap that keeps the number of label values bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OTHER_WORKSPACES, WorkspaceLabels } from '../../src/observability/workspace-label.js';

const A = '0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
const B = '11111111-2222-4333-8444-555555555555';
const C = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';

test('the workspace of each workspace-named host, and no label for other hosts', () => {
  const cases: readonly [host: string, label: string | undefined][] = [
    [`${A}.ods.opinsights.azure.com`, A],
    [`${A}.oms.opinsights.azure.com`, A],
    [`${A}.agentsvc.azure-automation.net`, A],
    [`${A}.ods.opinsights.azure.us`, A],
    [`${A}.oms.opinsights.azure.cn`, A],
    [`x.${A}.ods.opinsights.azure.com`, undefined],
    ['ods.opinsights.azure.com', undefined],
    ['not-a-guid.ods.opinsights.azure.com', undefined],
    [`${A}.blob.core.windows.net`, undefined],
    ['global.handler.control.monitor.azure.com', undefined],
    [`${A}.ods.opinsights.azure.com.evil.example`, undefined],
  ];
  const labels = new WorkspaceLabels(100);
  for (const [host, label] of cases) assert.equal(labels.of(host), label, host);
});

test('past the cap, new workspaces share the label "other"; those seen before keep theirs', () => {
  const labels = new WorkspaceLabels(2);
  const of = (id: string): string | undefined => labels.of(`${id}.ods.opinsights.azure.com`);
  assert.equal(of(A), A);
  assert.equal(of(B), B);
  assert.equal(of(C), OTHER_WORKSPACES);
  assert.equal(of(A), A);
  assert.equal(of(C), OTHER_WORKSPACES);
});
