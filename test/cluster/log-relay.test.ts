// Worker log lines reach the supervisor's destination whole, however the pipe cuts the bytes.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { relayLines } from '../../src/cluster/log-relay.js';

test('only complete lines are passed on; a piece waits for the rest of its line', async () => {
  const source = new PassThrough();
  const written: string[] = [];
  relayLines(source, (lines) => written.push(lines));
  for (const piece of ['{"a":1}\n{"b"', ':2}\n{"c":3}\n{"d"', ':4', '}\n']) {
    source.write(piece);
    await tick();
  }
  assert.deepEqual(written, ['{"a":1}\n', '{"b":2}\n{"c":3}\n', '{"d":4}\n']);
  assert.ok(written.every((lines) => lines.endsWith('\n')));
});

test('a last line without its newline is passed on, with one, when the worker ends', async () => {
  const source = new PassThrough();
  const written: string[] = [];
  relayLines(source, (lines) => written.push(lines));
  source.end('{"last":true}');
  await tick();
  await tick();
  assert.deepEqual(written, ['{"last":true}\n']);
});

test('multi-byte characters split across chunks arrive intact', async () => {
  const source = new PassThrough();
  const written: string[] = [];
  relayLines(source, (lines) => written.push(lines));
  const bytes = Buffer.from('{"name":"prüfung"}\n');
  const cut = bytes.indexOf(0xc3) + 1;
  source.write(bytes.subarray(0, cut));
  source.write(bytes.subarray(cut));
  await tick();
  assert.deepEqual(written, ['{"name":"prüfung"}\n']);
});
