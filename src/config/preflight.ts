// What `config check` looks at beyond the loader, so that it catches what `start` would hit: directories the
// log and pid files go to, the metrics listener's certificate files (the loader already reads the proxy
// listeners' and the relay's). Checked as the user running the command, which should be the gateway's. And a
// tier of warnings: settings that are valid but probably not what the operator meant.

import { accessSync, constants, statSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { dirname } from 'node:path';
import { loadTlsMaterial, TlsMaterialError } from '../tls/material.js';
import { formatListenAddress } from './forms.js';
import type { GatewayConfig, ListenerConfig } from './types.js';

export interface Finding {
  /** The key the finding is about, as in the file (`log.file`, `listen[1]`). */
  readonly key: string;
  readonly message: string;
}

export interface Preflight {
  /** `start` would fail on these. */
  readonly errors: readonly Finding[];
  readonly warnings: readonly Finding[];
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'error';
}

/** Why a file cannot be created or appended to at `path`, or undefined when it can. */
function unwritable(path: string, create: 'mkdir' | 'no-mkdir'): string | undefined {
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') return `cannot write ${path} (${errnoOf(err)})`;
  }
  let dir = dirname(path);
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
      accessSync(dir, constants.W_OK | constants.X_OK);
      return dir === dirname(path) || create === 'mkdir' ? undefined : `the directory ${dirname(path)} does not exist`;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') return `cannot create files in ${dir} (${errnoOf(err)})`;
      if (create === 'no-mkdir') return `the directory ${dir} does not exist; create it, owned by the gateway's user`;
    }
    const parent = dirname(dir);
    if (parent === dir) return `no directory of ${path} exists`;
    dir = parent;
  }
}

function isLoopback(listener: ListenerConfig): boolean {
  return isIPv4(listener.host) ? listener.host.startsWith('127.') : listener.host === '::1';
}

/** Where passwords would cross the network in clear: a plain connection that may carry Proxy-Authorization. */
function acceptsPlainBasic(listener: ListenerConfig): boolean {
  return listener.tls === undefined || (!listener.tls.requireTls && listener.tls.plainBasicAuth === 'allow');
}

export function preflight(config: GatewayConfig): Preflight {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  if (config.log.file !== undefined) {
    const problem = unwritable(config.log.file, 'no-mkdir');
    if (problem !== undefined) errors.push({ key: 'log.file', message: `start would fail: ${problem}` });
  }
  if (config.pidFile !== undefined) {
    const problem = unwritable(config.pidFile, 'mkdir');
    if (problem !== undefined) errors.push({ key: 'pidFile', message: `start would fail: ${problem}` });
  }
  if (config.metrics.enabled && config.metrics.tls !== undefined) {
    try {
      loadTlsMaterial({ cert: config.metrics.tls.cert, key: config.metrics.tls.key, ca: undefined });
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      // The metrics listener starts with an expired certificate; scrapers then refuse it.
      const dated = err.problem === 'expired' || err.problem === 'not-yet-valid';
      (dated ? warnings : errors).push({ key: `metrics.tls.${err.field}`, message: dated ? err.message : `start would fail: ${err.message}` });
    }
  }

  const { auth, policy } = config;
  if (auth.mode === 'anonymous' && auth.users.length > 0) {
    warnings.push({ key: 'auth.users', message: `${auth.users.length} user(s) defined, but auth.mode is anonymous: no password is asked for; set auth.mode: basic to require them` });
  }
  if (policy.mode === 'report') {
    warnings.push({ key: 'policy.mode', message: 'report: the allowlist is NOT ENFORCED; what it would deny is relayed and counted as would-deny' });
  }
  config.listen.forEach((listener, index) => {
    if (isLoopback(listener)) return;
    const where = `listen[${index}]`;
    const address = formatListenAddress(listener);
    if (auth.mode === 'anonymous') {
      warnings.push({ key: where, message: `${address} is reachable from other hosts and auth.mode is anonymous: anyone who reaches it may use the gateway (within the allowlist)` });
    } else if (acceptsPlainBasic(listener)) {
      warnings.push({ key: where, message: `${address} is reachable from other hosts and takes Basic credentials over plain HTTP: passwords cross the network in clear; add tls with requireTls or plainBasicAuth: refuse` });
    }
  });
  return { errors, warnings };
}
