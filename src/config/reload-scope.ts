// What a reload can and cannot change in a running gateway (issue 18: a reload must apply every key it
// reports as changed). Keys read only when the process starts keep their running value until a restart and
// are reported as such; keys a command-line flag of `start` sets are pinned: the file cannot change them.
// Every other key is applied by the gateway (proxy/gateway.ts, the supervisor), the metrics listener
// (metrics.users, metrics.path, metrics.maxEventLoopDelaySeconds) or service/operations.ts (pidFile, watch).

import type { ConfigChange } from './diff.js';
import { deepFreeze } from './freeze.js';
import type { ConfigOverrides } from './overrides.js';
import type { GatewayConfig } from './types.js';

/** Keys bound when the process starts: the HTTP parser's header limit, the log destination, the metrics socket. */
const START_ONLY: readonly string[] = [
  'workerScheduling',
  'limits.maxHeaderBytes',
  'log.format',
  'log.file',
  'log.bufferBytes',
  'metrics.enabled',
  'metrics.listen',
  'metrics.tls',
  'metrics.workspaceLabels',
  'metrics.maxWorkspaces',
];

/**
 * Every other key, and what applies it at reload. Not read by the code: it is the audit of issue 18, kept
 * beside START_ONLY so that a test can fail when a key is in neither (test/config/reload-scope.test.ts).
 */
export const APPLIED_AT_RELOAD: Readonly<Record<string, string>> = {
  listen: 'the gateway binds, rebinds or closes listeners (proxy/rebind.ts)',
  policy: 'the gateway compiles the policy again (proxy/runtime.ts)',
  resolve: 'the runtime\'s host mappings',
  auth: 'a new authenticator and throttle (proxy/runtime.ts); the metrics listener\'s checks too',
  timeouts: 'read per tunnel or request from the runtime; requestHeadSeconds also sets the parser\'s head timeout',
  'limits.maxConnections': 'the connection limiter reads the runtime',
  'limits.maxConnectionsPerClient': 'the connection limiter reads the runtime',
  'limits.maxTunnelsPerUser': 'the connection limiter reads the runtime',
  'limits.maxPendingAuthentications': 'the auth throttle (proxy/runtime.ts)',
  'limits.maxRequestTargetBytes': 'checked per request head from the runtime',
  'limits.maxHeaderCount': 'checked per request head from the runtime',
  'log.level': 'the logger of the gateway, its supervisor and every worker',
  'metrics.path': 'the metrics listener (observability/metrics-server.ts)',
  'metrics.users': 'the metrics listener',
  'metrics.maxEventLoopDelaySeconds': 'the metrics listener\'s /healthz',
  'metrics.stallReportSeconds': 'the metrics listener\'s /healthz',
  clients: 'the runtime\'s per-source rules (proxy/runtime.ts)',
  upstreamProbe: 'read by the probe before each probe (service/upstream-probe.ts)',
  pidFile: 'the pid file and its state file move (service/operations.ts)',
  watch: 'the file watch starts or stops (service/operations.ts)',
  reload: 'read by the reload itself; debounceSeconds restarts the watch',
  relayProxy: 'the runtime\'s parent proxy (proxy/parent.ts)',
  allowedClientCertificates: 'the tunnel inspection (tls/tunnel.ts)',
  inspection: 'the tunnel inspection (tls/tunnel.ts)',
  workers: 'a supervisor starts or retires workers (start-only without one)',
  dns: 'a new cache when its settings change (proxy/runtime.ts)',
};

/** The flags of `start` that replace a key of the file, and that key. */
const FLAG_KEYS: readonly (readonly [field: keyof ConfigOverrides, flag: string, key: string])[] = [
  ['listen', '--listen', 'listen'],
  ['authMode', '--auth', 'auth.mode'],
  ['logLevel', '--log-level', 'log.level'],
  ['logFormat', '--log-format', 'log.format'],
  ['metricsListen', '--metrics-listen', 'metrics.listen'],
  ['agents', '--agents', 'policy.agents'],
  ['policyMode', '--policy-mode', 'policy.mode'],
  ['pidFile', '--pid-file', 'pidFile'],
  ['workers', '--workers', 'workers'],
];

export interface FlagPin {
  readonly flag: string;
  readonly key: string;
}

/** A change in the file that a flag of `start` overrides: it does not apply while that flag is given. */
export type PinnedChange = ConfigChange & { readonly flag: string };

function under(key: string, prefix: string): boolean {
  return key === prefix || key.startsWith(`${prefix}.`);
}

/** The keys `overrides` pins (an empty --listen list keeps the file's listeners, so pins nothing). */
export function pinnedKeys(overrides: ConfigOverrides): FlagPin[] {
  return FLAG_KEYS.filter(([field]) => {
    const value = overrides[field];
    return value !== undefined && !(Array.isArray(value) && value.length === 0);
  }).map(([, flag, key]) => ({ flag, key }));
}

/** Changes between two readings of the file alone that fall under a pinned key. */
export function pinnedChanges(fileChanges: readonly ConfigChange[], pins: readonly FlagPin[]): PinnedChange[] {
  return fileChanges.flatMap((change) => {
    const pin = pins.find(({ key }) => under(change.key, key));
    return pin === undefined ? [] : [{ ...change, flag: pin.flag }];
  });
}

/**
 * Whether `key` is read only at start. `workers` is, for a gateway that runs without a supervisor (it cannot
 * fork workers later); a supervisor starts or retires workers at reload.
 */
export function isStartOnly(key: string, clustered: boolean): boolean {
  return START_ONLY.some((prefix) => under(key, prefix)) || (!clustered && under(key, 'workers'));
}

type Json = Readonly<Record<string, unknown>>;

function setIn(target: Json, path: readonly string[], value: unknown): Json {
  const [head, ...rest] = path;
  if (head === undefined) return target;
  return { ...target, [head]: rest.length === 0 ? value : setIn(target[head] as Json, rest, value) };
}

function getIn(source: Json, path: readonly string[]): unknown {
  return path.reduce<unknown>((value, name) => (value as Json | undefined)?.[name], source);
}

export interface ScopedReload {
  /** `next` with every start-only key at its running value: what the gateway applies. */
  readonly config: GatewayConfig;
  /** The start-only keys `next` changes, from their running value to the file's: applied at the next restart. */
  readonly restartRequired: readonly ConfigChange[];
}

/** Splits a reload into what applies now and what waits for a restart; `changes` is diffConfigs(previous, next). */
export function scopeReload(previous: GatewayConfig, next: GatewayConfig, changes: readonly ConfigChange[], clustered: boolean): ScopedReload {
  const restartRequired = changes.filter((change) => isStartOnly(change.key, clustered));
  let config = next as unknown as Json;
  for (const { key } of restartRequired) {
    const path = key.split('.');
    config = setIn(config, path, getIn(previous as unknown as Json, path));
  }
  return { config: restartRequired.length === 0 ? next : deepFreeze(config as unknown as GatewayConfig), restartRequired };
}
