// What a reload changed, for its audit record: one entry per changed setting of the effective
// configuration, lists as items added and removed, everything compared in redacted form. Secrets that
// redaction hides (password hashes, the parent proxy's password) are compared in clear and reported by name only.

import { redactConfig } from './redact.js';
import type { GatewayConfig } from './types.js';
import type { UserConfig } from '../auth/config-types.js';

export interface ConfigChange {
  /** Dotted path in the effective configuration, e.g. `policy.allowlist` or `timeouts.connectSeconds`. */
  readonly key: string;
  readonly from?: unknown;
  readonly to?: unknown;
  readonly added?: readonly unknown[];
  readonly removed?: readonly unknown[];
  /** Users whose password changed (auth.users, metrics.users); never the hashes. */
  readonly passwordChanged?: readonly string[];
}

/** Where the file was read from is not a setting. */
const IGNORED = new Set(['sourcePath']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walk(before: unknown, after: unknown, key: string, changes: ConfigChange[]): void {
  if (Array.isArray(before) && Array.isArray(after)) {
    const text = (items: unknown[]): Map<string, unknown> => new Map(items.map((item) => [JSON.stringify(item), item]));
    const was = text(before);
    const now = text(after);
    const added = [...now].filter(([json]) => !was.has(json)).map(([, item]) => item);
    const removed = [...was].filter(([json]) => !now.has(json)).map(([, item]) => item);
    if (added.length > 0 || removed.length > 0) changes.push({ key, added, removed });
    else if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ key, from: before, to: after });
    return;
  }
  if (isRecord(before) && isRecord(after)) {
    for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (key === '' && IGNORED.has(name)) continue;
      walk(before[name], after[name], key === '' ? name : `${key}.${name}`, changes);
    }
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) changes.push({ key, from: before ?? null, to: after ?? null });
}

function passwordChanges(key: string, before: readonly UserConfig[], after: readonly UserConfig[], changes: ConfigChange[]): void {
  const hashes = new Map(before.map((user) => [user.name, user.passwordHash]));
  const passwordChanged = after.filter((user) => hashes.has(user.name) && hashes.get(user.name) !== user.passwordHash).map((user) => user.name);
  if (passwordChanged.length > 0) changes.push({ key, passwordChanged });
}

export function diffConfigs(before: GatewayConfig, after: GatewayConfig): ConfigChange[] {
  const changes: ConfigChange[] = [];
  walk(redactConfig(before), redactConfig(after), '', changes);
  passwordChanges('auth.users', before.auth.users, after.auth.users, changes);
  passwordChanges('metrics.users', before.metrics.users, after.metrics.users, changes);
  const parentBefore = before.relayProxy?.password;
  const parentAfter = after.relayProxy?.password;
  if (parentBefore !== undefined && parentAfter !== undefined && parentBefore !== parentAfter) {
    changes.push({ key: 'relayProxy.password', from: '[redacted]', to: '[redacted]' });
  }
  return changes;
}
