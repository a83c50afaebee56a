// The one-pass audit line (observability/record-line.ts) and the records it leaves to pino.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { writeRecordLine } from '../../src/observability/record-line.js';

/** A pino logger whose lines are collected, with the logger options the gateway uses for its records' head. */
function collectingLogger(streamWrite?: (line: string) => string): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ base: { pid: 42 }, timestamp: () => ',"time":"T"', formatters: { level: (label) => ({ level: label }) }, hooks: { streamWrite } }, sink);
  return { logger, lines };
}

test('an ordinary record is written in one pass, with the head and message where pino puts them', () => {
  const { logger, lines } = collectingLogger();
  assert.equal(writeRecordLine(logger.child({ worker: 1 }), 'warn', { event: 'request-denied', eventId: 105, user: 'a"b' }, 'denied'), true);
  assert.deepEqual(lines, ['{"level":"warn","time":"T","pid":42,"worker":1,"event":"request-denied","eventId":105,"user":"a\\"b","msg":"denied"}\n']);
});

test('records only pino can write are left to it, with nothing written', () => {
  const { logger, lines } = collectingLogger();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(writeRecordLine(logger, 'error', { err: new Error('x') }, 'm'), false);
  assert.equal(writeRecordLine(logger, 'error', { cyclic }, 'm'), false);
  assert.equal(writeRecordLine(logger, 'error', { bytes: 1n }, 'm'), false);
  assert.deepEqual(lines, []);
});

test("a destination that wants each record's metadata (pino.multistream) is left to pino", () => {
  const lines: string[] = [];
  const stream = pino.multistream([{ stream: { write: (line: string) => void lines.push(line) } }]);
  const logger = pino({}, stream);
  assert.equal(writeRecordLine(logger, 'info', { event: 'x' }, 'm'), false);
  assert.deepEqual(lines, []);
});

test("the logger's streamWrite hook (the gateway's escape) is applied to the whole line", () => {
  const { logger, lines } = collectingLogger((line) => line.toUpperCase());
  writeRecordLine(logger, 'info', { user: 'u' }, 'm');
  assert.match(lines[0] ?? '', /"USER":"U"/);
});
