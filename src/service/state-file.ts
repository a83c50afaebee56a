// The gateway's answer to the commands that operate it: a small JSON file beside the pid file, written at
// start and after every reload attempt, that says which configuration generation runs, what the last
// reload did (applied, what waits for a restart, what a flag pins, or why it failed) and what the gateway
// is (policy and auth mode, listeners). `reload` and the editing commands wait on it after their SIGHUP;
// `status` reads it even when the configuration file is broken. It holds no secret (changes are redacted).

import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ConfigChange } from '../config/diff.js';
import type { PinnedChange } from '../config/reload-scope.js';
import type { AuthMode } from '../auth/config-types.js';
import type { PolicyMode } from '../policy/config-types.js';
import { writeFileAtomic } from '../config/write.js';

export type ReloadTrigger = 'SIGHUP' | 'file-change';
export type ReloadOutcome = 'applied' | 'invalid' | 'failed' | 'skipped';

/** One reload attempt, as the gateway saw it. */
export interface ReloadResult {
  readonly trigger: ReloadTrigger;
  readonly outcome: ReloadOutcome;
  /** The configuration generation in force afterwards (1 is the one `start` loaded). */
  readonly generation: number;
  /** Epoch milliseconds: when it began reading the file, and when it was done. */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** What it applied. */
  readonly changes: readonly ConfigChange[];
  /** Changes to keys read only at start: saved, running with the old value until a restart. */
  readonly restartRequired: readonly ConfigChange[];
  /** Changes in the file to keys a flag of `start` sets: not applied while that flag is given. */
  readonly pinned: readonly PinnedChange[];
  /** invalid or failed: why, e.g. EADDRINUSE, and the problems of an invalid file. */
  readonly reason?: string;
  readonly message?: string;
}

export interface GatewayStateRecord {
  readonly pid: number;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly version: string | undefined;
  /** The configuration file it reads (null: the embedded default). */
  readonly configFile: string | null;
  readonly generation: number;
  readonly policyMode: PolicyMode;
  readonly authMode: AuthMode;
  /** Bound proxy listeners, HOST:PORT. */
  readonly listeners: readonly string[];
  readonly workers: number;
  readonly lastReload: ReloadResult | null;
}

/** `/run/oms-gateway/oms-gateway.pid` → `/run/oms-gateway/oms-gateway.state.json`. */
export function stateFileFor(pidFile: string): string {
  return join(dirname(pidFile), `${basename(pidFile, '.pid')}.state.json`);
}

/** Readable by the gateway's group, as its log is: it names users and hosts. */
export async function writeStateFile(pidFile: string, record: GatewayStateRecord): Promise<void> {
  await writeFileAtomic(stateFileFor(pidFile), `${JSON.stringify(record)}\n`, 0o640);
}

export type StateRead =
  | { readonly ok: true; readonly record: GatewayStateRecord }
  | { readonly ok: false; readonly reason: 'missing' | 'unreadable' | 'malformed'; readonly code?: string };

export async function readStateFile(pidFile: string): Promise<StateRead> {
  let text: string;
  try {
    text = await readFile(stateFileFor(pidFile), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' ? { ok: false, reason: 'missing' } : { ok: false, reason: 'unreadable', code };
  }
  try {
    const record = JSON.parse(text) as GatewayStateRecord;
    return typeof record.pid === 'number' && typeof record.generation === 'number' ? { ok: true, record } : { ok: false, reason: 'malformed' };
  } catch {
    // Written atomically, so a half-written file is not expected; a foreign one is refused rather than trusted.
    return { ok: false, reason: 'malformed' };
  }
}
