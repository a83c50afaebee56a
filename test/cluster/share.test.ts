// How many workers `auto` means, and each worker's share of the limits meant for the whole gateway.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { shareOfLimit, workerCount, workerShare } from '../../src/cluster/share.js';

describe('workerCount', () => {
  const cases = [
    { setting: 'auto', cores: 2, expected: 2 },
    { setting: 'auto', cores: 16, expected: 16 },
    { setting: 'auto', cores: 0, expected: 1 },
    { setting: 1, cores: 8, expected: 1 },
    { setting: 4, cores: 2, expected: 4 },
  ] as const;
  for (const { setting, cores, expected } of cases) {
    test(`${setting} on ${cores} cores → ${expected}`, () => assert.equal(workerCount(setting, cores), expected));
  }
});

describe('shareOfLimit', () => {
  const cases = [
    { limit: 10_000, workers: 2, expected: 5_000 },
    { limit: 1_001, workers: 2, expected: 501 },
    { limit: 3, workers: 4, expected: 1 },
    { limit: 0, workers: 4, expected: 0 },
  ] as const;
  for (const { limit, workers, expected } of cases) {
    test(`${limit} over ${workers} workers → ${expected} each`, () => assert.equal(shareOfLimit(limit, workers), expected));
  }
});

describe('workerShare', () => {
  const config = parseConfigText(
    [
      'limits:',
      '  maxConnections: 10000',
      '  maxConnectionsPerClient: 1000',
      '  maxTunnelsPerUser: 0',
      '  maxPendingAuthentications: 128',
      'auth:',
      '  throttle:',
      '    failuresBeforeDelay: 3',
      '    lockoutFailures: 10',
    ].join('\n'),
    'share.yaml',
  );

  test('gateway-wide limits are divided; per-process ones and "no limit" are kept', () => {
    const share = workerShare(config, 2);
    assert.deepEqual(
      {
        maxConnections: share.limits.maxConnections,
        maxConnectionsPerClient: share.limits.maxConnectionsPerClient,
        maxTunnelsPerUser: share.limits.maxTunnelsPerUser,
        maxPendingAuthentications: share.limits.maxPendingAuthentications,
        failuresBeforeDelay: share.auth.throttle.failuresBeforeDelay,
        lockoutFailures: share.auth.throttle.lockoutFailures,
      },
      { maxConnections: 5000, maxConnectionsPerClient: 500, maxTunnelsPerUser: 0, maxPendingAuthentications: 128, failuresBeforeDelay: 2, lockoutFailures: 5 },
    );
    assert.deepEqual(share.policy, config.policy);
  });

  test('one worker keeps the configuration as it is', () => {
    assert.equal(workerShare(config, 1), config);
  });
});
