// Where a tunnel goes: host mapping (--resolve; an address it names is dialled as written) or DNS (cached,
// net/dns-cache.ts), then the address rules, then a TCP connect to exactly the addresses that were checked
// (no second lookup, so DNS rebinding cannot slip between them), Happy Eyeballs style when there are several
// (net/happy-eyeballs.ts).
// With a parent proxy, unmapped targets not in its bypass list go through it (parent.ts) instead.
import { isIP, type Socket } from 'node:net';
import { DnsError, type DnsObserver } from '../net/dns-cache.js';
import { ConnectError, connectStaggered } from '../net/happy-eyeballs.js';
import type { Landing } from '../net/landing.js';
import type { Target, Decision } from '../policy/types.js';
import { checkResolvedAddress } from '../policy/decide.js';
import { ProxyError } from './errors.js';
import { isOutOfDescriptors } from './fd-budget.js';
import { dialViaParent, parentFor, type CompiledParent } from './parent.js';
import type { Runtime } from './runtime.js';

export interface Route {
  /** Candidate addresses in the order they will be tried; every one passed the address rules. */
  readonly addresses: readonly string[];
  readonly port: number;
  /**
   * True when an operator mapping chose the route. Address rules do not apply to an address the mapping
   * names; the addresses of a name it names passed them.
   */
  readonly mapped: boolean;
  /** Set when the tunnel goes through the parent proxy; `addresses` is then empty. */
  readonly parent?: { readonly proxy: CompiledParent; readonly target: Target };
  /** RFC 8305 Connection Attempt Delay between addresses (timeouts.connectAttemptDelaySeconds). */
  readonly attemptDelayMs?: number;
}

/** RFC 8305 §8's recommended Connection Attempt Delay, for routes made without a configuration. */
const ATTEMPT_DELAY_MS = 250;

export type RouteResult =
  | { readonly ok: true; readonly route: Route }
  | { readonly ok: false; readonly decision: Extract<Decision, { allow: false }> };

/**
 * Resolves a target the policy has already admitted (through `entry`; none when report mode relayed it).
 * Throws ProxyError('dns-failure') when nothing resolves.
 */
export async function findRoute(
  runtime: Runtime,
  target: Target,
  entry: string | undefined,
  dns: DnsObserver,
): Promise<RouteResult> {
  const timeoutMs = runtime.config.timeouts.connectSeconds * 1000;
  const attemptDelayMs = runtime.config.timeouts.connectAttemptDelaySeconds * 1000;
  const resolve = async (host: string): Promise<readonly string[]> => {
    try {
      return await runtime.dns.resolve(host, timeoutMs, dns);
    } catch (err) {
      throw err instanceof DnsError ? new ProxyError('dns-failure', { cause: err }) : err;
    }
  };
  // The addresses that pass the address rules, or the first refusal when none does.
  const checked = (candidates: readonly string[]): { allowed: string[]; denied: Extract<Decision, { allow: false }> | undefined } => {
    const allowed: string[] = [];
    let denied: Extract<Decision, { allow: false }> | undefined;
    for (const address of candidates) {
      const refusal = checkResolvedAddress(runtime.policy, address, entry);
      if (refusal === undefined) allowed.push(address);
      else denied ??= refusal;
    }
    return { allowed, denied: allowed.length === 0 ? denied : undefined };
  };
  const mapping = target.kind === 'name' ? runtime.mappings.match(target.host)[0] : undefined;
  if (mapping !== undefined) {
    const port = mapping.port ?? target.port;
    // An address the operator wrote is dialled as written; a name it maps to is resolved and held to the
    // address rules like any other, or `NAME=othername` would reach whatever othername's DNS answers.
    if (isIP(mapping.address)) return { ok: true, route: { addresses: [mapping.address], port, mapped: true, attemptDelayMs } };
    const { allowed, denied } = checked(await resolve(mapping.address));
    if (denied !== undefined) return { ok: false, decision: denied };
    return { ok: true, route: { addresses: allowed, port, mapped: true, attemptDelayMs } };
  }
  const parent = parentFor(runtime.parent, target);
  // The parent resolves names itself, so only an IP literal can be held to the address rules here.
  const viaParent: Route | undefined = parent && { addresses: [], port: target.port, mapped: false, parent: { proxy: parent, target } };
  if (viaParent !== undefined && target.kind === 'name') return { ok: true, route: viaParent };
  const { allowed, denied } = checked(target.kind === 'name' ? await resolve(target.host) : [target.host]);
  if (denied !== undefined) return { ok: false, decision: denied };
  return { ok: true, route: viaParent ?? { addresses: allowed, port: target.port, mapped: false, attemptDelayMs } };
}

/**
 * Connects to the route's addresses in turn within one deadline, or through the parent proxy. Resolves with a
 * connected socket; throws ProxyError 'connect-timeout', 'connect-refused' or 'network-error', or a
 * ParentError (parent.ts).
 */
export async function dial(route: Route, timeoutMs: number, landing?: Landing): Promise<Socket> {
  if (route.parent !== undefined) return dialViaParent(route.parent.target, route.parent.proxy, timeoutMs);
  try {
    return await connectStaggered(route.addresses, { port: route.port, timeoutMs, attemptDelayMs: route.attemptDelayMs ?? ATTEMPT_DELAY_MS, landing });
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    const code = err.code === 'timeout' ? 'connect-timeout' : err.code === 'refused' ? 'connect-refused' : isOutOfDescriptors(err) ? 'out-of-resources' : 'network-error';
    throw new ProxyError(code, { cause: err });
  }
}
