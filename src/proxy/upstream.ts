// Where a tunnel goes: host mapping (--resolve) or DNS, then the address rules, then a TCP connect to
// exactly the address that was checked (no second lookup, so DNS rebinding cannot slip between them).
import { lookup } from 'node:dns/promises';
import { connect, isIP, type Socket } from 'node:net';
import type { Target, Decision } from '../policy/types.js';
import { checkResolvedAddress } from '../policy/decide.js';
import { ProxyError } from './errors.js';
import type { Runtime } from './runtime.js';

export interface Route {
  /** Candidate addresses in the order they will be tried; every one passed the address rules. */
  readonly addresses: readonly string[];
  readonly port: number;
  /** True when an operator mapping chose the address (address rules do not apply then). */
  readonly mapped: boolean;
}

export type RouteResult =
  | { readonly ok: true; readonly route: Route }
  | { readonly ok: false; readonly decision: Extract<Decision, { allow: false }> };

/**
 * Resolves a target the policy has already allowed (through `entry`). Throws ProxyError('dns-failure')
 * when nothing resolves.
 */
export async function findRoute(runtime: Runtime, target: Target, entry: string): Promise<RouteResult> {
  const timeoutMs = runtime.config.timeouts.connectSeconds * 1000;
  const mapping = target.kind === 'name' ? runtime.mappings.match(target.host)[0] : undefined;
  if (mapping !== undefined) {
    const addresses = isIP(mapping.address) ? [mapping.address] : await resolve(mapping.address, timeoutMs);
    return { ok: true, route: { addresses, port: mapping.port ?? target.port, mapped: true } };
  }
  const candidates = target.kind === 'name' ? await resolve(target.host, timeoutMs) : [target.host];
  const allowedBy = { allow: true, entry } as const;
  const allowed: string[] = [];
  let denied: Extract<Decision, { allow: false }> | undefined;
  for (const address of candidates) {
    const decision = checkResolvedAddress(runtime.policy, address, allowedBy);
    if (decision.allow) allowed.push(address);
    else denied ??= decision;
  }
  if (allowed.length === 0 && denied !== undefined) return { ok: false, decision: denied };
  return { ok: true, route: { addresses: allowed, port: target.port, mapped: false } };
}

async function resolve(host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyError('dns-failure')), timeoutMs);
  });
  try {
    const answers = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
    if (answers.length === 0) throw new ProxyError('dns-failure');
    return answers.map((answer) => answer.address);
  } catch (err) {
    throw err instanceof ProxyError ? err : new ProxyError('dns-failure', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to the route's addresses in turn within one deadline. Resolves with a connected socket;
 * throws ProxyError 'connect-timeout', 'connect-refused' or 'network-error'.
 */
export async function dial(route: Route, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  let lastError: ProxyError = new ProxyError('network-error');
  for (const address of route.addresses) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.reject(new ProxyError('connect-timeout'));
    try {
      return await connectOnce(address, route.port, remaining);
    } catch (err) {
      lastError = err instanceof ProxyError ? err : new ProxyError('network-error', { cause: err });
      if (lastError.code === 'connect-timeout') break;
    }
  }
  throw lastError;
}

function connectOnce(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyError('connect-timeout'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolvePromise(socket);
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ProxyError(err.code === 'ECONNREFUSED' ? 'connect-refused' : 'network-error', { cause: err }));
    };
    socket.once('error', onError);
  });
}
