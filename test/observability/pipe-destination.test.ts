// The log destination for a standard output that is a pipe or socket (pipe-destination.ts): lines arrive
// whole and in order even while the reader is behind, flush() calls back only once every line is in the
// pipe (a process exits right after it), lines are handed on in blocks when log.bufferBytes asks, a reader
// that went away costs nothing, and only pipes and sockets are taken for it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PipeDestination } from '../../src/observability/pipe-destination.js';
import { readLate } from '../fixtures/late-reader.js';

const MODULE = fileURLToPath(new URL('../../src/observability/pipe-destination.js', import.meta.url));

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('close', (code: number | null) => resolve(code)));
}

/** A child that writes `count` numbered lines of 200 bytes into its stdout through the destination, then flushes and exits at once. */
function writer(count: number) {
  const script = `
    import { PipeDestination } from ${JSON.stringify(MODULE)};
    const out = new PipeDestination(process.stdout);
    for (let i = 0; i < ${count}; i += 1) out.write(String(i).padEnd(199, '.') + '\\n');
    out.flush(() => process.exit(0));
  `;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('lines queued while the reader is behind all arrive, in order, before a flushed process exits', async () => {
  // 20,000 lines of 200 bytes: 4 MB, far more than a pipe holds, so most wait in the destination's queue.
  const count = 20_000;
  const { lines, code } = await readLate(writer(count), 300);
  assert.equal(code, 0);
  assert.equal(lines.length, count);
  lines.forEach((line, i) => assert.equal(line, String(i).padEnd(199, '.')));
});

test('a reader that has gone away ends nothing: writes are dropped and flush still calls back', async () => {
  const script = `
    import { PipeDestination } from ${JSON.stringify(MODULE)};
    const out = new PipeDestination(process.stdout);
    process.stdin.once('data', () => {
      // The parent closed its end of our stdout before writing to stdin.
      for (let i = 0; i < 1000; i += 1) out.write('x'.repeat(100) + '\\n');
      setTimeout(() => out.flush(() => { process.stderr.write('flushed'); process.exit(0); }), 100);
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = exitCode(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.destroy();
  child.stdin.write('go\n');
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.equal(stderr, 'flushed');
});

test('only a pipe or a socket suits it: not a regular file, not a closed descriptor', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oms-gateway-pipe-'));
  try {
    const fd = openSync(join(dir, 'log'), 'a');
    assert.equal(PipeDestination.suits(fd), false);
    closeSync(fd);
    assert.equal(PipeDestination.suits(fd), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { PipeDestination } from ${JSON.stringify(MODULE)}; process.stderr.write(String(PipeDestination.suits(1)));`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  await new Promise((resolve) => child.once('close', resolve));
  assert.equal(stderr, 'true');
});

test('with bufferBytes, lines are handed on in blocks of at least that size, and flush hands on the rest', () => {
  const pipe = new PassThrough();
  const chunks: string[] = [];
  pipe.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const out = new PipeDestination(pipe, 100);
  const line = `${'a'.repeat(39)}\n`;
  out.write(line);
  out.write(line);
  assert.equal(pipe.writableLength + pipe.readableLength + chunks.length, 0, 'two lines (80 characters) wait');
  out.write(line);
  out.write(line);
  assert.equal(pipe.readableLength + chunks.join('').length, 120, 'the third line made a block of 120');
  let flushed = false;
  out.flush(() => {
    flushed = true;
  });
  assert.equal(pipe.readableLength + chunks.join('').length, 160);
  assert.equal(flushed, true);
});
