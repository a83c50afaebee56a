// Opening the configured listeners, at start and at reload. A reload keeps every listener the new
// configuration names unchanged (its port and its connections go on), binds the new ones first, and closes
// the dropped ones only once all new ones are bound, so there is no moment without a listener. A listener
// whose options changed on the same address (PROXY protocol, say) cannot be bound twice: it is closed and
// bound again at once, so that one address refuses connections for a moment.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ListenerConfig } from '../config/types.js';
import { audit } from '../observability/logger.js';
import { listenerName, openListener, type BoundListener, type ListenerServices } from './listener.js';

/** Errors an absent address family raises; the embedded default's IPv6 listener is skipped on them. */
const FAMILY_ABSENT = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

/** How long a rebind waits for the closed listener's port to be released. */
const REBIND_WAIT_MS = 2000;
const REBIND_POLL_MS = 50;

export interface Replacement {
  readonly old: BoundListener;
  readonly config: ListenerConfig;
}

export interface ListenerPlan {
  readonly keep: readonly BoundListener[];
  readonly add: readonly ListenerConfig[];
  readonly replace: readonly Replacement[];
  readonly drop: readonly BoundListener[];
}

/**
 * Pairs wanted listeners with bound ones: the same settings are kept, the same address (host and
 * configured port) with other settings is replaced; each bound listener pairs once.
 */
export function planListeners(current: readonly BoundListener[], wanted: readonly ListenerConfig[]): ListenerPlan {
  const free = [...current];
  const take = (fits: (was: ListenerConfig, config: ListenerConfig) => boolean, config: ListenerConfig): BoundListener | undefined => {
    const index = free.findIndex((bound) => fits(bound.config, config));
    return index === -1 ? undefined : free.splice(index, 1)[0];
  };
  const sameAddress = (was: ListenerConfig, config: ListenerConfig): boolean => was.host === config.host && was.port === config.port;
  const keep: BoundListener[] = [];
  const unmatched: ListenerConfig[] = [];
  for (const config of wanted) {
    const found = take((was) => sameAddress(was, config) && JSON.stringify(was) === JSON.stringify(config), config);
    if (found === undefined) unmatched.push(config);
    else keep.push(found);
  }
  const add: ListenerConfig[] = [];
  const replace: Replacement[] = [];
  for (const config of unmatched) {
    const old = take(sameAddress, config);
    if (old === undefined) add.push(config);
    else replace.push({ old, config });
  }
  return { keep, add, replace, drop: free };
}

/** A replacement failed; `swaps` says which listener now stands where a closed one stood. */
export class RebindError extends Error {
  readonly code: string;
  readonly swaps: ReadonlyMap<BoundListener, BoundListener>;

  constructor(cause: unknown, swaps: ReadonlyMap<BoundListener, BoundListener>) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'RebindError';
    this.code = (cause as NodeJS.ErrnoException).code ?? 'error';
    this.swaps = swaps;
  }
}

/**
 * Closes each replaced listener and binds its new settings on the same address, waiting briefly for the
 * port to be released. On failure the old settings are bound again and a RebindError is thrown.
 */
export async function replaceListeners(replacements: readonly Replacement[], services: ListenerServices): Promise<BoundListener[]> {
  const swaps = new Map<BoundListener, BoundListener>();
  for (const { old, config } of replacements) {
    void old.close();
    try {
      swaps.set(old, await bindWhenFree(config, services));
    } catch (err) {
      swaps.set(old, await bindWhenFree(old.config, services));
      throw new RebindError(err, swaps);
    }
  }
  return [...swaps.values()];
}

async function bindWhenFree(config: ListenerConfig, services: ListenerServices): Promise<BoundListener> {
  const deadline = Date.now() + REBIND_WAIT_MS;
  for (;;) {
    try {
      return await openListener(config, services);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= deadline) throw err;
      await sleep(REBIND_POLL_MS);
    }
  }
}

/**
 * Binds every listener in `configs`. An optional listener (the default IPv6 one) whose address family is
 * absent is skipped with a warning; any other failure closes what this call bound and throws.
 */
export async function openListeners(configs: readonly ListenerConfig[], services: ListenerServices): Promise<BoundListener[]> {
  const opened: BoundListener[] = [];
  for (const config of configs) {
    try {
      opened.push(await openListener(config, services));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!(config.optional && FAMILY_ABSENT.has(code))) {
        await closeListeners(opened);
        throw err;
      }
      audit(services.logger, 'warn', 'listener-skipped', { listener: listenerName(config), reason: code });
    }
  }
  return opened;
}

/** Stops accepting on each listener; resolves once their accepted connections have closed too. */
export async function closeListeners(listeners: readonly BoundListener[]): Promise<void> {
  await Promise.all(listeners.map((listener) => listener.close()));
}
