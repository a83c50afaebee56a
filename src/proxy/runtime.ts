// Everything a request needs, compiled once from a validated configuration. A reload builds a new
// Runtime and swaps it in; requests already admitted keep the one they started with.
import type { GatewayConfig, HostMappingConfig } from '../config/types.js';
import { compilePolicy, type CompiledPolicy } from '../policy/decide.js';
import { PatternMap } from '../policy/patterns.js';
import { createAuthenticator, proxyAuthenticateHeader, type Authenticator } from '../auth/authenticator.js';

export interface Runtime {
  readonly config: GatewayConfig;
  readonly policy: CompiledPolicy;
  readonly auth: Authenticator;
  /** Full `Proxy-Authenticate` value for 407 answers. */
  readonly proxyAuthenticate: string;
  readonly mappings: PatternMap<HostMappingConfig>;
}

export function buildRuntime(config: GatewayConfig): Runtime {
  const mappings = new PatternMap<HostMappingConfig>();
  for (const mapping of config.resolve) mappings.add(mapping.pattern, mapping);
  return Object.freeze({
    config,
    policy: compilePolicy(config.policy),
    auth: createAuthenticator(config.auth),
    proxyAuthenticate: proxyAuthenticateHeader(config.auth.realm),
    mappings,
  });
}
