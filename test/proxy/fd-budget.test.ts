// The descriptor arithmetic behind the connection ceiling, and that it reads this process's real limit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { test } from 'node:test';
import { ceilingFor, connectionCeiling, isOutOfDescriptors, openFileCount, openFileLimit } from '../../src/proxy/fd-budget.js';

const LIMITS_TEXT = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('reads the soft open-files limit from /proc/self/limits text', () => {
  assert.equal(openFileLimit(LIMITS_TEXT), 1024);
  assert.equal(openFileLimit('Max open files            unlimited            unlimited            files\n'), undefined);
  assert.equal(openFileLimit(''), undefined);
});

test("reads this process's own limit, the one `ulimit -n` reports", () => {
  const shell = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  assert.equal(openFileLimit(), shell);
});

test('counts the descriptors this process has open', () => {
  const before = openFileCount();
  assert.ok(before !== undefined && before > 3);
  const fd = openSync('/dev/null', 'r');
  try {
    assert.equal(openFileCount(), before + 1);
  } finally {
    closeSync(fd);
  }
  assert.equal(openFileCount(), before);
});

const ceilings: [limit: number, inUse: number, ceiling: number][] = [
  [64, 20, 14], // (64 − 20 − 16 headroom) / 2
  [1024, 30, 471], // headroom 52 (5 %, rounded up)
  [20, 18, 1], // never below one connection
];
for (const [limit, inUse, ceiling] of ceilings) {
  test(`${limit} descriptors with ${inUse} in use carry ${ceiling} connections`, () => {
    assert.equal(ceilingFor(limit, inUse), ceiling);
  });
}

test('no ceiling when the limit or the count is unknown', () => {
  assert.equal(ceilingFor(undefined, 10), undefined);
  assert.equal(ceilingFor(1024, undefined), undefined);
});

test("this process's ceiling follows from its limit and what it has open", () => {
  const ceiling = connectionCeiling();
  assert.ok(ceiling !== undefined && ceiling >= 1);
  assert.ok(ceiling * 2 < (openFileLimit() ?? 0));
});

test('EMFILE and ENFILE, also wrapped as a cause, are running out of descriptors; other errors are not', () => {
  const errno = (code: string): Error => Object.assign(new Error(code), { code });
  assert.equal(isOutOfDescriptors(errno('EMFILE')), true);
  assert.equal(isOutOfDescriptors(new Error('connect failed', { cause: errno('ENFILE') })), true);
  assert.equal(isOutOfDescriptors(new Error('connect failed', { cause: errno('ECONNRESET') })), false);
  assert.equal(isOutOfDescriptors('EMFILE'), false);
});
