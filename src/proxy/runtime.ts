// Everything a request needs, compiled once from a validated configuration. A reload builds a new
// Runtime and swaps it in; requests already admitted keep the one they started with.
import type { DnsConfig, GatewayConfig, HostMappingConfig } from '../config/types.js';
import { compilePolicy, type CompiledPolicy } from '../policy/decide.js';
import { PatternMap } from '../policy/patterns.js';
import { ClientRuleTable } from '../policy/clients.js';
import { createAuthenticator, proxyAuthenticateHeader, type Authenticator } from '../auth/authenticator.js';
import { AuthThrottle, slowPathLimits } from '../auth/throttle.js';
import { DnsCache } from '../net/dns-cache.js';
import { compileParent, type CompiledParent } from './parent.js';
import { compileInspection, type CompiledInspection } from '../tls/tunnel.js';

/** What applies to one client address: its per-source rule (`clients:`), or the gateway's own settings. */
export interface SourceRule {
  /** The rule's name for audit records; undefined for clients in no rule's ranges. */
  readonly name: string | undefined;
  readonly auth: Authenticator;
  readonly policy: CompiledPolicy;
}

export interface Runtime {
  readonly config: GatewayConfig;
  readonly policy: CompiledPolicy;
  readonly auth: Authenticator;
  /** Failure throttling and slow-path bounds in front of `auth`; a reload starts its counts afresh (known sources carry over). */
  readonly authThrottle: AuthThrottle;
  /** Full `Proxy-Authenticate` value for 407 answers. */
  readonly proxyAuthenticate: string;
  readonly mappings: PatternMap<HostMappingConfig>;
  /** The parent proxy (`relayProxy:`), when one is configured. */
  readonly parent: CompiledParent | undefined;
  /** Name resolutions; kept across reloads that leave the dns settings alone. */
  readonly dns: DnsCache;
  /** The look at the TLS handshake inside tunnels; undefined when switched off. */
  readonly inspection: CompiledInspection;
  /** Per-source rules, most specific range first; `sourceRule()` picks one. */
  readonly sources: ClientRuleTable<SourceRule>;
  /** What applies to clients in no rule's range: the gateway's own authentication and policy. */
  readonly defaultSource: SourceRule;
}

/** The rule a client address falls under, or the gateway's own authentication and policy. */
export function sourceRule(runtime: Runtime, client: string): SourceRule {
  return runtime.sources.match(client) ?? runtime.defaultSource;
}

/** `previous`: the runtime a reload replaces, whose caches carry over where their settings did not change. */
export function buildRuntime(config: GatewayConfig, previous?: Runtime): Runtime {
  const mappings = new PatternMap<HostMappingConfig>();
  for (const mapping of config.resolve) mappings.add(mapping.pattern, mapping);
  const policy = compilePolicy(config.policy);
  const auth = createAuthenticator(config.auth);
  const sources = new ClientRuleTable(
    config.clients.map((rule) => ({
      cidrs: rule.from,
      value: {
        name: rule.name,
        auth: rule.auth === auth.mode ? auth : createAuthenticator(Object.assign({}, config.auth, { mode: rule.auth })),
        policy: rule.allowlist === undefined ? policy : compilePolicy(Object.assign({}, config.policy, { agents: rule.agents ?? config.policy.agents, allowlist: rule.allowlist })),
      },
    })),
  );
  return Object.freeze({
    config,
    policy,
    auth,
    sources,
    defaultSource: { name: undefined, auth, policy },
    authThrottle: new AuthThrottle(config.auth.throttle, slowPathLimits(config), previous?.authThrottle),
    proxyAuthenticate: proxyAuthenticateHeader(config.auth.realm),
    mappings,
    parent: config.relayProxy === undefined ? undefined : compileParent(config.relayProxy),
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
