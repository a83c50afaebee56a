// What the preset entries of one configuration add to or remove from another's, so that newly installed
// preset data never widens a running allowlist silently: the reload record and `oms-gateway reload` list the
// entries a reload adds, and `oms-gateway presets diff` shows them before anything is applied. The running
// gateway's entries are known from the snapshot it writes beside its pid file at start and after every reload.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { GatewayConfig } from './types.js';
import type { AllowEntryConfig } from '../policy/config-types.js';
import { writeFileAtomic } from './write.js';

/** The preset entries (source `preset:…`) of a configuration, and the version of the data they came from. */
export interface PresetSnapshot {
  readonly version: string;
  readonly entries: readonly AllowEntryConfig[];
}

export interface PresetChanges {
  readonly fromVersion: string;
  readonly toVersion: string;
  readonly added: readonly AllowEntryConfig[];
  readonly removed: readonly AllowEntryConfig[];
}

export function presetSnapshot(config: GatewayConfig): PresetSnapshot {
  const entries = config.policy.allowlist.filter((entry) => entry.source.startsWith('preset:'));
  return { version: config.policy.presets.version, entries: entries.map(({ pattern, ports, source }) => ({ pattern, ports: [...ports], source })) };
}

const key = (entry: AllowEntryConfig): string => `${entry.source} ${entry.pattern} ${entry.ports.join(',')}`;

/** Entries of `after` that `before` lacks, and the reverse; an entry whose ports changed counts as both. */
export function presetChanges(before: PresetSnapshot, after: PresetSnapshot): PresetChanges {
  const was = new Set(before.entries.map(key));
  const now = new Set(after.entries.map(key));
  return {
    fromVersion: before.version,
    toVersion: after.version,
    added: after.entries.filter((entry) => !was.has(key(entry))),
    removed: before.entries.filter((entry) => !now.has(key(entry))),
  };
}

export function hasPresetChanges(changes: PresetChanges): boolean {
  return changes.added.length > 0 || changes.removed.length > 0 || changes.fromVersion !== changes.toVersion;
}

/** `pattern:ports (source)`, one entry per item, for messages and terminal output. */
export function describePresetEntries(entries: readonly AllowEntryConfig[]): string[] {
  return entries.map((entry) => `${entry.pattern}:${entry.ports.join(',')} (${entry.source})`);
}

/** One line for a log message: which entries are added, which removed. */
export function summarizePresetChanges(changes: PresetChanges): string {
  const version = changes.fromVersion === changes.toVersion ? `preset data ${changes.toVersion}` : `preset data ${changes.fromVersion} → ${changes.toVersion}`;
  const parts = [version];
  if (changes.added.length > 0) parts.push(`adds ${describePresetEntries(changes.added).join(', ')}`);
  if (changes.removed.length > 0) parts.push(`removes ${describePresetEntries(changes.removed).join(', ')}`);
  if (parts.length === 1) parts.push('no preset entry added or removed');
  return parts.join('; ');
}

/** Beside the pid file, which is how the commands find the running gateway: `/run/x/gw.pid` → `/run/x/gw.presets.json`. */
export function presetSnapshotPath(pidFile: string): string {
  return `${pidFile.replace(/\.pid$/, '')}.presets.json`;
}

const snapshotSchema = z.object({
  version: z.string(),
  entries: z.array(z.object({ pattern: z.string(), ports: z.array(z.number().int()), source: z.string() })),
});

/** The running gateway's snapshot; undefined when there is none. Throws on a file that is not one. */
export async function readPresetSnapshot(path: string): Promise<PresetSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the preset snapshot ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = snapshotSchema.safeParse(value);
  if (!parsed.success) throw new Error(`${path} is not a preset snapshot written by oms-gateway`);
  return parsed.data;
}

export async function writePresetSnapshot(path: string, snapshot: PresetSnapshot): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(snapshot, null, 2)}\n`, 0o644);
}
