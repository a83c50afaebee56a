// hey's per-request CSV as the benchmark reads it: latency from requests over connections already open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv } from '../../bench/hey.js';

const HEADER = 'response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset';

test('requests that opened their connection count as requests, not in the latency percentiles', () => {
  const opened = Array.from({ length: 10 }, (_, i) => `4.2000,4.1900,0.0000,0.0003,0.0004,0.0001,200,${(i / 100).toFixed(4)}`);
  const reused = Array.from({ length: 90 }, (_, i) => `0.00${i < 89 ? '20' : '90'},0.0000,0.0000,0.0001,0.0018,0.0001,200,${(1 + i / 100).toFixed(4)}`);
  const failed = '0.0010,0.0000,0.0000,0.0001,0.0008,0.0001,502,2.0000';
  const result = parseCsv([HEADER, ...opened, ...reused, failed, ''].join('\n'));
  assert.equal(result.requests, 100);
  assert.equal(result.errors, 1);
  assert.equal(result.p50Ms, 2);
  assert.equal(result.p99Ms, 9);
});
