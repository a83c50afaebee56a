// What `oms-gateway status` computes from a scrape, checked against a registry whose updates are known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition } from '../../src/observability/exposition.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { formatBytes, formatDuration, summarize, TOP_REJECTIONS } from '../../src/observability/summary.js';

test('the summary of a scrape adds up the families it reads', async () => {
  const metrics = new GatewayMetrics({ version: '4.5.6', workspaceLabels: false, maxWorkspaces: 1 });
  metrics.configLoaded(true, false);
  const reasons: [string, number][] = [['not-in-allowlist', 7], ['port-not-allowed', 6], ['bad-target', 5], ['host-mismatch', 4], ['body-on-connect', 3], ['shutting-down', 2]];
  for (const [reason, count] of reasons) {
    for (let i = 0; i < count; i += 1) {
      if (reason === 'not-in-allowlist' || reason === 'port-not-allowed') metrics.refused('tunnel', { code: 'denied', decision: { reason } });
      else metrics.refused('request', reason as 'bad-target');
    }
  }
  metrics.upstreamFailed('tunnel', 'connect-refused');
  metrics.upstreamFailed('tunnel', 'connect-refused');
  metrics.upstreamFailed('request', 'dns-failure');
  metrics.internalError();
  metrics.configLoaded(false, true);

  const now = Date.now() / 1000;
  const summary = summarize(parseExposition(await metrics.expose()), now);
  assert.equal(summary.version, '4.5.6');
  assert.ok(summary.uptimeSeconds !== undefined && summary.uptimeSeconds >= 0 && summary.uptimeSeconds < now);
  assert.deepEqual(summary.tunnels, { relayed: 0, refused: 13, failed: 2 });
  assert.deepEqual(summary.requests, { relayed: 0, refused: 14, failed: 1 });
  assert.equal(summary.rejections, 27);
  assert.equal(summary.errors, 4);
  assert.equal(summary.topRejections.length, TOP_REJECTIONS);
  assert.deepEqual(summary.topRejections, reasons.slice(0, TOP_REJECTIONS));
  assert.deepEqual(summary.upstreamErrors, [['connect-refused', 2], ['dns-failure', 1]]);
  assert.equal(summary.lastReloadSuccessful, false);
  assert.ok(summary.lastGoodConfigAt !== undefined && Math.abs(summary.lastGoodConfigAt - now) < 60);
  assert.equal(summary.connectedClients, 0);
  assert.equal(summary.activeTunnels, 0);
  assert.equal(summary.bytesFromClients, 0);
});

test('durations and byte counts for people', () => {
  const durations: [number, string][] = [[0, '0s'], [59.9, '59s'], [61, '1m 01s'], [3725, '1h 02m 05s'], [90_061, '1d 1h 01m']];
  for (const [seconds, text] of durations) assert.equal(formatDuration(seconds), text);
  const sizes: [number, string][] = [[0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [5 * 1024 ** 3, '5.0 GiB']];
  for (const [bytes, text] of sizes) assert.equal(formatBytes(bytes), text);
});
