// The log destination: redaction of credentials that slip into a record, a file that can be moved away and
// reopened (logrotate), pretty lines, a clear error for a file that cannot be opened, and a standard output
// pipe whose reader is behind losing nothing when the process ends on a fatal error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { audit, LogFileError, openLog } from '../../src/observability/logger.js';
import { readLate } from '../fixtures/late-reader.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oms-gateway-log-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/**
 * The file's lines once it has at least `count` of them (bounded wait): the destination writes
 * asynchronously and its flush() does not wait for writes in flight.
 */
async function linesOf(path: string, count: number): Promise<string[]> {
  let lines: string[] = [];
  for (let i = 0; i < 100; i += 1) {
    lines = (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '');
    if (lines.length >= count) break;
    await sleep(20);
  }
  return lines;
}

const eventsOf = (lines: readonly string[]): unknown[] => lines.map((line) => (JSON.parse(line) as { event: unknown }).event);

describe('redaction', () => {
  test('credentials under the redacted paths never reach the file, whatever the nesting', async () => {
    const file = join(dir, 'redact.log');
    const { logger } = openLog({ level: 'trace', format: 'json', file, bufferBytes: 4096 });
    const secrets = ['Basic c2VjcmV0LXByb3h5', 'Basic b3JpZ2luLXNlY3JldA==', 'pw-top-1', 'pw-user-2', 'scrypt$hash-3', 'pw-relay-4', 'pw-deep-5', 'Basic bmVzdGVk'];
    logger.info({
      headers: { 'proxy-authorization': secrets[0], authorization: secrets[1], host: 'kept.example' },
      password: secrets[2],
      user: { name: 'kept-name', password: secrets[3], passwordHash: secrets[4] },
      relayProxy: { url: 'http://parent.example:3128', password: secrets[5] },
      nested: { deep: { password: secrets[6] } },
      req: { headers: { 'proxy-authorization': secrets[7] } },
    }, 'a record that should never have carried credentials');
    const text = (await linesOf(file, 1)).join('\n');
    for (const secret of secrets) assert.ok(secret !== undefined && !text.includes(secret), `${secret?.length ?? 0}-character secret in the log`);
    assert.match(text, /kept\.example/);
    assert.match(text, /kept-name/);
    assert.match(text, /parent\.example/);
    assert.equal(text.split('[redacted]').length - 1, secrets.length);
  });
});

describe('file destination', () => {
  test('an audit record is one JSON line with the event name and its numeric ID', async () => {
    const file = join(dir, 'audit.log');
    const { logger } = openLog({ level: 'info', format: 'json', file, bufferBytes: 4096 });
    audit(logger, 'info', 'service-started', { listeners: [] });
    audit(logger, 'debug', 'client-reset', { client: '192.0.2.1' });
    audit(logger, 'info', 'service-stopped', {});
    const lines = await linesOf(file, 2);
    assert.deepEqual(eventsOf(lines), ['service-started', 'service-stopped'], 'debug is below the level');
    const record = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(record.event, 'service-started');
    assert.equal(record.eventId, 101);
    assert.equal(record.level, 'info');
  });

  test('after the file is moved away, reopen() starts a new file; no line is lost on the way', async () => {
    const file = join(dir, 'rotate.log');
    const log = openLog({ level: 'info', format: 'json', file, bufferBytes: 4096 });
    assert.equal(log.file, file);
    log.logger.info({ event: 'before' }, 'before rotation');
    assert.equal((await linesOf(file, 1)).length, 1);
    await rename(file, `${file}.1`);
    log.logger.info({ event: 'between' }, 'written while logrotate runs: lands in one file or the other');
    log.reopen();
    log.logger.info({ event: 'after' }, 'after rotation');
    const moved = eventsOf(await linesOf(`${file}.1`, 1));
    const fresh = eventsOf(await linesOf(file, 1));
    assert.equal(moved[0], 'before');
    assert.equal(fresh.at(-1), 'after');
    assert.deepEqual([...moved, ...fresh], ['before', 'between', 'after']);
  });

  test('a line waiting in a large buffer still reaches the file within a fraction of a second', async () => {
    const file = join(dir, 'buffered.log');
    const { logger } = openLog({ level: 'info', format: 'json', file, bufferBytes: 16_000 });
    const started = Date.now();
    logger.info({ event: 'alone' }, 'one short line, far below bufferBytes');
    assert.deepEqual(eventsOf(await linesOf(file, 1)), ['alone']);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  });

  test('appends to an existing file instead of truncating it', async () => {
    const file = join(dir, 'append.log');
    for (const event of ['first', 'second']) {
      const { logger } = openLog({ level: 'info', format: 'json', file, bufferBytes: 4096 });
      logger.info({ event }, event);
      await linesOf(file, event === 'first' ? 1 : 2);
    }
    assert.deepEqual(eventsOf(await linesOf(file, 2)), ['first', 'second']);
  });

  test('an audit record is written as the line pino writes for the same record, bindings and all', async () => {
    const file = join(dir, 'same-line.log');
    const { logger } = openLog({ level: 'info', format: 'json', file, bufferBytes: 0 });
    const worker = logger.child({ worker: 2 });
    const fields = {
      client: '192.0.2.7', clientPort: 50123, method: 'CONNECT', user: 'ag"ent\\1\t', target: 'x.ods.opinsights.azure.com:443',
      entry: undefined, enforcing: false, ratio: Number.NaN, listeners: ['127.0.0.1:8080', '[::1]:8080'], route: { upstream: 'direct', hops: [1, 2] },
      note: '\u2028 and \u0085', empty: '',
    };
    audit(worker, 'warn', 'request-denied', fields, 'a "quoted" message');
    worker.warn(Object.assign({ event: 'request-denied', eventId: 105 }, fields), 'a "quoted" message');
    audit(logger, 'info', 'service-stopped', {});
    logger.info({ event: 'service-stopped', eventId: 102 }, 'service-stopped');
    const lines = (await linesOf(file, 4)).map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'));
    assert.equal(lines.length, 4);
    assert.equal(lines[0], lines[1]);
    assert.equal(lines[2], lines[3]);
    assert.match(lines[0] ?? '', /^\{"level":"warn","time":"T","pid":\d+,"worker":2,"event":"request-denied","eventId":105,"client":/);
  });

  test('an audit record pino alone can write still reaches the file: an error, a cycle, a BigInt', async () => {
    const file = join(dir, 'fallback.log');
    const { logger } = openLog({ level: 'info', format: 'json', file, bufferBytes: 0 });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    audit(logger, 'error', 'error', { err: Object.assign(new Error('disk full'), { code: 'ENOSPC' }) });
    audit(logger, 'error', 'error', { reason: 'cycle', cyclic });
    audit(logger, 'error', 'error', { reason: 'bigint', bytes: 2n ** 64n });
    const records = (await linesOf(file, 3)).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(records.length, 3);
    const err = records[0]?.err as Record<string, unknown>;
    assert.deepEqual([err.type, err.message, err.code], ['Error', 'disk full', 'ENOSPC'], "pino's error serialiser");
    assert.equal((records[1]?.cyclic as { self: unknown }).self, '[Circular]');
    assert.equal(records[2]?.bytes, 18446744073709552000);
  });

  test('credentials in an audit record are censored like those in any other record', async () => {
    const file = join(dir, 'audit-redact.log');
    const { logger } = openLog({ level: 'info', format: 'json', file, bufferBytes: 0 });
    audit(logger, 'warn', 'auth-failed', { user: 'kept-name', password: 'pw-audit-1', headers: { 'Proxy-Authorization': 'Basic YXVkaXQ6c2VjcmV0' } });
    const text = (await linesOf(file, 1)).join('\n');
    assert.doesNotMatch(text, /pw-audit-1|YXVkaXQ6c2VjcmV0/);
    assert.match(text, /kept-name/);
    assert.equal(text.split('[redacted]').length - 1, 2);
  });

  test('pretty lines in a file: level, message and fields, without colour codes', async () => {
    const file = join(dir, 'pretty.log');
    const { logger } = openLog({ level: 'info', format: 'pretty', file, bufferBytes: 4096 }, true);
    audit(logger, 'warn', 'request-denied', { target: 'example.com:443', reason: 'not-in-allowlist' });
    const text = (await linesOf(file, 1)).join('\n');
    assert.match(text, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: request-denied /m);
    assert.match(text, /"eventId":105/);
    assert.match(text, /"reason":"not-in-allowlist"/);
    assert.doesNotMatch(text, /\u001b\[/);
    assert.doesNotMatch(text, /^\{"level"/m);
  });

  test('line and paragraph separators, C1 and bidi controls in a value are escaped in every format and path (issue 16)', async () => {
    const user = 'agent\u2028{"event":"forged"}\u2029\u0085\u202ereversed\u2066\u200f\r\n';
    const raw = /[\u0080-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\r]/;
    for (const format of ['json', 'pretty'] as const) {
      const file = join(dir, `separators-${format}.log`);
      const log = openLog({ level: 'info', format, file, bufferBytes: 0 }, false);
      audit(log.logger, 'warn', 'request-denied', { user });
      // A worker's line relayed through the supervisor's destination (cluster/log-relay.ts).
      log.write(`${JSON.stringify({ level: 'warn', event: 'relayed', user })}\n`);
      const lines = await linesOf(file, 2);
      assert.equal(lines.length, 2, lines.join('\n'));
      for (const line of lines) assert.doesNotMatch(line, raw, `${format}: ${JSON.stringify(line)}`);
      if (format === 'json') for (const line of lines) assert.equal((JSON.parse(line) as { user: string }).user, user);
      else assert.match(lines[0] ?? '', /agent\\u2028/);
    }
  });

  for (const ending of ['exitAfterFlush(logger, 0);', 'logger.flush(); process.exit(0);']) {
    test(`lines waiting for a block (log.bufferBytes) reach the file at an exit after a flush: ${ending}`, async () => {
      const file = join(dir, `exit-${ending.length}.log`);
      const LOGGER = new URL('../../src/observability/logger.js', import.meta.url).pathname;
      // 25 records of about 250 bytes: several blocks of 4,096 and a part block that only the flush hands over.
      const script = `
        import { audit, exitAfterFlush, openLog } from ${JSON.stringify(LOGGER)};
        const { logger } = openLog({ level: 'info', format: 'json', file: ${JSON.stringify(file)}, bufferBytes: 4096 }, false);
        // Once the file is open, as it is long before any exit of a running gateway.
        setTimeout(() => {
          for (let i = 0; i < 25; i += 1) audit(logger, 'info', 'tunnel-closed', { n: i, pad: 'x'.repeat(150) });
          ${ending}
        }, 200);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode: number | null) => resolve(exitCode)));
      assert.equal(code, 0);
      const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
      const numbers = lines.map((line) => (JSON.parse(line) as { n: number }).n);
      // exitAfterFlush waits for the writes; an exit right after flush() leaves a block in flight while pino's
      // exit hook writes the rest at once, so the two blocks may land in either order: none is lost.
      if (ending.startsWith('exitAfterFlush')) assert.deepEqual(numbers, Array.from({ length: 25 }, (_, i) => i));
      else assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: 25 }, (_, i) => i));
    });
  }

  test('a file in a missing directory stops the start with the path and the reason', () => {
    const file = join(dir, 'no-such-dir', 'gateway.log');
    assert.throws(
      () => openLog({ level: 'info', format: 'json', file, bufferBytes: 4096 }),
      (err: unknown) => err instanceof LogFileError && err.message.includes(file) && err.message.includes('ENOENT'),
    );
  });
});

describe('standard output that is a pipe', () => {
  const LOGGER = new URL('../../src/observability/logger.js', import.meta.url).pathname;

  /** A child logging `count` records into its stdout pipe through openLog(), then `ending` (a statement). */
  function logging(count: number, bufferBytes: number, ending: string) {
    const script = `
      import { audit, exitAfterFlush, openLog } from ${JSON.stringify(LOGGER)};
      const { logger } = openLog({ level: 'info', format: 'json', file: undefined, bufferBytes: ${bufferBytes} }, false);
      for (let i = 0; i < ${count}; i += 1) audit(logger, 'info', 'tunnel-opened', { n: i, pad: 'x'.repeat(150) });
      ${ending}
    `;
    return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  }

  for (const bufferBytes of [0, 4096]) {
    test(`a fatal exit (exitAfterFlush) waits for every line queued behind a slow reader (bufferBytes ${bufferBytes})`, async () => {
      // 10,000 records of about 250 bytes: far more than a pipe holds.
      const { lines, code } = await readLate(logging(10_000, bufferBytes, 'exitAfterFlush(logger, 1);'), 300);
      assert.equal(code, 1);
      assert.equal(lines.length, 10_000);
      lines.forEach((line, i) => assert.equal((JSON.parse(line) as { n: number }).n, i));
    });
  }

  test('a fatal exit still ends the process when the reader never reads', async () => {
    const child = logging(10_000, 0, 'exitAfterFlush(logger, 3);');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode: number | null) => resolve(exitCode)));
    assert.equal(code, 3);
    child.stdout!.destroy();
  });
});
