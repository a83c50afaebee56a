// Everything a request needs, compiled once from a validated configuration. A reload builds a new
// Runtime and swaps it in; requests already admitted keep the one they started with.
import type { DnsConfig, GatewayConfig, HostMappingConfig } from '../config/types.js';
import { compilePolicy, type CompiledPolicy } from '../policy/decide.js';
import { PatternMap } from '../policy/patterns.js';
import { createAuthenticator, proxyAuthenticateHeader, type Authenticator } from '../auth/authenticator.js';
import { AuthThrottle, slowPathLimits } from '../auth/throttle.js';
import { DnsCache } from '../net/dns-cache.js';
import { compileRelay, type CompiledRelay } from './parent.js';
import { compileInspection, type CompiledInspection } from '../tls/tunnel.js';

export interface Runtime {
  readonly config: GatewayConfig;
  readonly policy: CompiledPolicy;
  readonly auth: Authenticator;
  /** Failure throttling and slow-path bounds in front of `auth`; a reload starts its counts afresh (known sources carry over). */
  readonly authThrottle: AuthThrottle;
  /** Full `Proxy-Authenticate` value for 407 answers. */
  readonly proxyAuthenticate: string;
  readonly mappings: PatternMap<HostMappingConfig>;
  /** The relay (parent) proxy, when one is configured. */
  readonly relay: CompiledRelay | undefined;
  /** Name resolutions; kept across reloads that leave the dns settings alone. */
  readonly dns: DnsCache;
  /** The look at the TLS handshake inside tunnels; undefined when switched off. */
  readonly inspection: CompiledInspection;
}

/** `previous`: the runtime a reload replaces, whose caches carry over where their settings did not change. */
export function buildRuntime(config: GatewayConfig, previous?: Runtime): Runtime {
  const mappings = new PatternMap<HostMappingConfig>();
  for (const mapping of config.resolve) mappings.add(mapping.pattern, mapping);
  return Object.freeze({
    config,
    policy: compilePolicy(config.policy),
    auth: createAuthenticator(config.auth),
    authThrottle: new AuthThrottle(config.auth.throttle, slowPathLimits(config), previous?.authThrottle),
    proxyAuthenticate: proxyAuthenticateHeader(config.auth.realm),
    mappings,
    relay: config.relayProxy === undefined ? undefined : compileRelay(config.relayProxy),
    dns: previous !== undefined && sameDnsSettings(previous.config.dns, config.dns) ? previous.dns : dnsCache(config.dns),
    inspection: compileInspection(config),
  });
}

function dnsCache(config: DnsConfig): DnsCache {
  return new DnsCache({
    maxEntries: config.cacheMaxEntries,
    minTtlMs: config.minTtlSeconds * 1000,
    maxTtlMs: config.maxTtlSeconds * 1000,
    negativeTtlMs: config.negativeTtlSeconds * 1000,
  });
}

function sameDnsSettings(a: DnsConfig, b: DnsConfig): boolean {
  return a.cacheMaxEntries === b.cacheMaxEntries && a.minTtlSeconds === b.minTtlSeconds && a.maxTtlSeconds === b.maxTtlSeconds && a.negativeTtlSeconds === b.negativeTtlSeconds;
}
