// The pid file: how the editing commands and `oms-gateway reload` find a running gateway to signal. A
// signal sent to a recycled PID could hit any process (and SIGHUP ends most of them), so a PID is only
// trusted when /proc says that process is an `oms-gateway start`.

import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../config/write.js';

export class PidFileError extends Error {
  readonly code = 'PID_FILE';

  constructor(message: string) {
    super(message);
    this.name = 'PidFileError';
  }
}

/** The PID in the file; undefined when the file is missing or does not hold one. */
export async function readPidFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PidFileError(`cannot read the pid file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether `pid` is a live `oms-gateway start` (its command line names our CLI and the start command). */
export function isGatewayProcess(pid: number): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const cli = args.findIndex((arg) => /(?:^|\/)oms-gateway$|\/cli\/main\.js$/.test(arg));
  return cli !== -1 && args[cli + 1] === 'start';
}

/**
 * Writes this process's PID to `path`, creating its directory. Refuses when the file names another live
 * gateway: two gateways on one pid file would each take the other's reload signals.
 */
export async function writePidFile(path: string): Promise<void> {
  const existing = await readPidFile(path);
  if (existing !== undefined && existing !== process.pid && isGatewayProcess(existing)) {
    throw new PidFileError(`${path} names a running gateway (pid ${existing}); stop it or give another --pid-file`);
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFileAtomic(path, `${process.pid}\n`, 0o644);
}

/**
 * Removes the pid file if it still names this process, and says whether it did. Synchronous: it also runs
 * in the exit handler.
 */
export function removePidFile(path: string): boolean {
  try {
    if (Number(readFileSync(path, 'utf8').trim()) !== process.pid) return false;
    rmSync(path, { force: true });
    return true;
  } catch {
    // Already gone, or never written: nothing to remove.
    return false;
  }
}
