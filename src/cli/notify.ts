// Telling a running gateway to reload after an edit, and reading its answer: SIGHUP to the process named by
// the pid file (`--pid-file`, else the configuration's `pidFile`), then a bounded wait for the reload result
// it writes beside the pid file (service/state-file.ts). Every outcome is said, including "nobody to tell",
// and one that did not apply what the file now says fails the command.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigChange } from '../config/diff.js';
import { isGatewayProcess, readPidFile } from '../service/pid-file.js';
import { readStateFile, stateFileFor, type ReloadResult } from '../service/state-file.js';
import { CommandFailed } from './errors.js';

/** Longer than a supervisor waits for its workers to answer a reload (cluster/supervisor.ts, 30 s). */
export const RELOAD_WAIT_MS = 40_000;
const POLL_MS = 50;

export type Notice =
  | { readonly status: 'reloaded'; readonly pid: number; readonly pidFile: string; readonly result: ReloadResult }
  | { readonly status: 'no-answer'; readonly pid: number; readonly pidFile: string; readonly reason: string }
  | { readonly status: 'not-running'; readonly pidFile: string }
  | { readonly status: 'no-pid-file'; readonly watch: boolean };

/**
 * Signals the gateway of `pidFile` with SIGHUP and waits up to `waitMs` for the result of a reload that
 * began after the signal. Throws CommandFailed when it runs but cannot be signalled.
 */
export async function notifyGateway(pidFile: string | undefined, watch: boolean, waitMs = RELOAD_WAIT_MS): Promise<Notice> {
  if (pidFile === undefined) return { status: 'no-pid-file', watch };
  const pid = await readPidFile(pidFile);
  if (pid === undefined || !isGatewayProcess(pid)) return { status: 'not-running', pidFile };
  // A reload that began before this moment may have read the file before the edit: only a later one answers.
  const signalledAt = Date.now();
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CommandFailed(`the configuration was written, but the gateway (pid ${pid}) could not be told to reload (${code}): run this as its user or root, or send it SIGHUP`);
  }
  const deadline = signalledAt + waitMs;
  for (;;) {
    const state = await readStateFile(pidFile);
    if (state.ok && state.record.pid === pid && state.record.lastReload !== null && state.record.lastReload.startedAt >= signalledAt) {
      return { status: 'reloaded', pid, pidFile, result: state.record.lastReload };
    }
    if (!state.ok && state.reason === 'unreadable') {
      return { status: 'no-answer', pid, pidFile, reason: `cannot read its answer in ${stateFileFor(pidFile)} (${state.code ?? 'error'})` };
    }
    if (!isGatewayProcess(pid)) return { status: 'no-answer', pid, pidFile, reason: 'it exited before it answered' };
    if (Date.now() >= deadline) return { status: 'no-answer', pid, pidFile, reason: `it did not answer within ${waitMs / 1000} s (see its log for config-reloaded or reload-failed)` };
    await sleep(POLL_MS);
  }
}

/** Whether the running gateway now runs what the file says (as far as it can without a restart). */
export function noticeSucceeded(notice: Notice): boolean {
  if (notice.status === 'no-answer') return false;
  if (notice.status !== 'reloaded') return true;
  return notice.result.outcome === 'applied' && notice.result.pinned.length === 0;
}

function change(c: ConfigChange): string {
  if (c.from !== undefined || c.to !== undefined) return `${c.key} (${JSON.stringify(c.from ?? null)} → ${JSON.stringify(c.to ?? null)})`;
  return c.key;
}

function keys(changes: readonly ConfigChange[]): string {
  return [...new Set(changes.map((c) => c.key))].join(', ');
}

/** One or more lines, the first saying what happened, for a person. */
export function describeNotice(notice: Notice): string {
  switch (notice.status) {
    case 'reloaded':
      return describeResult(notice.pid, notice.result);
    case 'no-answer':
      return `told the running gateway (pid ${notice.pid}) to reload, but ${notice.reason}`;
    case 'not-running':
      return `no gateway is running with pid file ${notice.pidFile}: the change applies when it starts`;
    case 'no-pid-file':
      return notice.watch
        ? 'no pid file is configured; a running gateway watches the file (watch: true) and reloads by itself'
        : 'no pid file is configured (pidFile, or --pid-file), so no running gateway was told: reload it with `systemctl reload oms-gateway` or SIGHUP';
  }
}

function describeResult(pid: number, result: ReloadResult): string {
  const who = `the running gateway (pid ${pid})`;
  switch (result.outcome) {
    case 'invalid':
      return `${who} refused the file and keeps running generation ${result.generation}:\n${result.message ?? ''}`;
    case 'failed':
      return `${who} could not apply the file and keeps running generation ${result.generation} (the file keeps the change): ${result.reason ?? 'error'}: ${result.message ?? ''}`;
    case 'skipped':
      return `${who} did not reload: ${result.message ?? result.reason ?? 'skipped'}`;
    case 'applied':
      break;
  }
  const lines = [result.changes.length === 0
    ? `${who} reloaded (generation ${result.generation}) and applied nothing`
    : `${who} applied it (generation ${result.generation}): ${keys(result.changes)}`];
  if (result.restartRequired.length > 0) {
    lines.push(`needs a restart to take effect, the gateway keeps running the old value until then: ${result.restartRequired.map(change).join(', ')}`);
  }
  for (const pinned of result.pinned) {
    lines.push(`not applied: ${pinned.key} is set by ${pinned.flag} on the command line of start, which overrides the file; restart without ${pinned.flag} for the file's value`);
  }
  return lines.join('\n');
}
