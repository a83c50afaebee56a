// Command-line flags that override the file. Each value goes through the same schema element as its YAML
// counterpart, and a refusal names the flag and the value as typed: flag values are never secrets.

import type { z } from 'zod';
import type { ConfigIssue } from './issues.js';
import { allowEntry, authModeSchema, duplicates, listenEntry, listenerKey, logLevelSchema, mappingEntry } from './schema.js';
import type { AllowEntryConfig, AuthMode, HostMappingConfig, ListenerConfig, LogLevel } from './types.js';

export interface ConfigOverrides {
  /** `--listen HOST:PORT`, repeatable: replaces the file's listeners. Absent or empty keeps them. */
  readonly listen?: readonly string[];
  /** `--resolve PATTERN=ADDRESS[:PORT]`, repeatable: added; replaces a file mapping of the same pattern. */
  readonly resolve?: readonly string[];
  /** `--allow-host pattern[:port[,port...]]`, repeatable: added to the allowlist with source 'flag'. */
  readonly allowHosts?: readonly string[];
  /** `--auth anonymous|basic`: replaces auth.mode. */
  readonly authMode?: string;
  /** `--log-level LEVEL`: replaces log.level. */
  readonly logLevel?: string;
}

export interface FlagValues {
  readonly listen: readonly ListenerConfig[] | undefined;
  readonly resolve: readonly HostMappingConfig[];
  readonly allowHosts: readonly AllowEntryConfig[];
  readonly authMode: AuthMode | undefined;
  readonly logLevel: LogLevel | undefined;
}

const allowFlagEntry = allowEntry('flag');

export function parseOverrides(overrides: ConfigOverrides): { values: FlagValues; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const refuse = (flag: string, text: string, message: string): void => {
    issues.push({ key: flag, line: undefined, message: `${JSON.stringify(text)}: ${message}` });
  };
  /** Index-aligned with `texts`, undefined where the value was refused. */
  function parse<T>(flag: string, schema: z.ZodType<T, string>, texts: readonly string[]): (T | undefined)[] {
    return texts.map((text) => {
      const result = schema.safeParse(text);
      if (result.success) return result.data;
      refuse(flag, text, result.error.issues[0]?.message ?? 'invalid value');
      return undefined;
    });
  }
  const parsed = <T>(items: readonly (T | undefined)[]): T[] => items.filter((item): item is T => item !== undefined);
  const optional = (text: string | undefined): string[] => (text === undefined ? [] : [text]);

  const listenTexts = overrides.listen ?? [];
  const listen = parse('--listen', listenEntry, listenTexts);
  for (const [index] of duplicates(listen, (l) => (l === undefined ? undefined : listenerKey(l)))) {
    refuse('--listen', listenTexts[index] ?? '', 'given twice; each listener needs its own HOST:PORT');
  }
  const resolveTexts = overrides.resolve ?? [];
  const resolve = parse('--resolve', mappingEntry, resolveTexts);
  for (const [index] of duplicates(resolve, (mapping) => mapping?.pattern)) {
    refuse('--resolve', resolveTexts[index] ?? '', 'PATTERN given twice; map each pattern once');
  }
  const allowHosts = parse('--allow-host', allowFlagEntry, overrides.allowHosts ?? []);
  const [authMode] = parse('--auth', authModeSchema, optional(overrides.authMode));
  const [logLevel] = parse('--log-level', logLevelSchema, optional(overrides.logLevel));

  const values: FlagValues = {
    listen: listenTexts.length === 0 ? undefined : parsed(listen),
    resolve: parsed(resolve),
    allowHosts: parsed(allowHosts),
    authMode,
    logLevel,
  };
  return { values, issues };
}
