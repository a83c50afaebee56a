// Command-line flags that override the file. Each value goes through the same schema element as its YAML
// counterpart, and a refusal names the flag and the value as typed: flag values are never secrets.

import type { z } from 'zod';
import type { ConfigIssue } from './issues.js';
import { agentsEntry, allowEntry, cidrEntry, authModeSchema, duplicates, listenEntry, listenerKey, logFormatSchema, logLevelSchema, mappingEntry, policyModeSchema, tlsFileEntry, workersFlagSchema } from './schema.js';
import type { HostMappingConfig, ListenerConfig, LogFormat, LogLevel, WorkersSetting } from './types.js';
import type { Agent, AllowEntryConfig, PolicyMode } from '../policy/config-types.js';
import type { AuthMode } from '../auth/config-types.js';

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
  /** `--log-format json|pretty`: replaces log.format. */
  readonly logFormat?: string;
  /** `--metrics-listen HOST:PORT`: replaces metrics.listen. */
  readonly metricsListen?: string;
  /** `--agents legacy,ama,...`: replaces agents (an empty value means none). */
  readonly agents?: string;
  /** `--policy-mode enforce|report`: replaces policy.mode. */
  readonly policyMode?: string;
  /** `--proxy-protocol-from CIDR`, repeatable: the --listen listeners accept PROXY headers from these. */
  readonly proxyProtocolFrom?: readonly string[];
  /** `--pid-file PATH` (made absolute by the CLI): replaces pidFile. */
  readonly pidFile?: string;
  /** `--workers auto|N`: replaces workers. */
  readonly workers?: string;
  /** `--tls-cert FILE` and `--tls-key FILE`, together: the --listen listeners also speak TLS. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

export interface FlagValues {
  readonly listen: readonly ListenerConfig[] | undefined;
  readonly resolve: readonly HostMappingConfig[];
  readonly allowHosts: readonly AllowEntryConfig[];
  readonly authMode: AuthMode | undefined;
  readonly logLevel: LogLevel | undefined;
  readonly logFormat: LogFormat | undefined;
  readonly metricsListen: ListenerConfig | undefined;
  readonly agents: readonly Agent[] | undefined;
  readonly policyMode: PolicyMode | undefined;
  readonly proxyProtocolFrom: readonly string[];
  readonly pidFile: string | undefined;
  readonly workers: WorkersSetting | undefined;
  /** Absolute paths from --tls-cert and --tls-key, when both were given. */
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
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
  const [logFormat] = parse('--log-format', logFormatSchema, optional(overrides.logFormat));
  const [metricsListen] = parse('--metrics-listen', listenEntry, optional(overrides.metricsListen));
  const [policyMode] = parse('--policy-mode', policyModeSchema, optional(overrides.policyMode));
  const agentTexts = overrides.agents === undefined ? undefined : overrides.agents.split(',').map((text) => text.trim()).filter(Boolean);
  const agents = parse('--agents', agentsEntry, agentTexts ?? []);
  const proxyProtocolFrom = parse('--proxy-protocol-from', cidrEntry, overrides.proxyProtocolFrom ?? []);

  const [workers] = parse('--workers', workersFlagSchema, optional(overrides.workers));
  const [tlsCert] = parse('--tls-cert', tlsFileEntry, optional(overrides.tlsCert));
  const [tlsKey] = parse('--tls-key', tlsFileEntry, optional(overrides.tlsKey));
  if ((overrides.tlsCert === undefined) !== (overrides.tlsKey === undefined)) {
    const [given, missing] = overrides.tlsCert === undefined ? ['--tls-key', '--tls-cert'] : ['--tls-cert', '--tls-key'];
    refuse(given, (overrides.tlsCert ?? overrides.tlsKey) ?? '', `needs ${missing} FILE as well`);
  }

  const values: FlagValues = {
    listen: listenTexts.length === 0 ? undefined : parsed(listen),
    resolve: parsed(resolve),
    allowHosts: parsed(allowHosts),
    authMode,
    logLevel,
    logFormat,
    metricsListen,
    agents: agentTexts === undefined ? undefined : parsed(agents),
    policyMode,
    proxyProtocolFrom: [...new Set(parsed(proxyProtocolFrom))],
    pidFile: overrides.pidFile,
    workers,
    tls: tlsCert === undefined || tlsKey === undefined ? undefined : { cert: tlsCert, key: tlsKey },
  };
  return { values, issues };
}
