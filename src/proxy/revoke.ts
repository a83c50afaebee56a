// After a reload with `reload.closeDeniedTunnels`, open tunnels are held to the new configuration: a tunnel
// whose user is gone, or whose target the new policy denies, is closed. Address rules are not re-checked
// (that would mean resolving every target again); the name, port, workspace and user rules are.
import { audit, type Logger } from '../observability/logger.js';
import { decide } from '../policy/decide.js';
import type { DenyReason } from '../policy/types.js';
import { targetString } from './audit-records.js';
import type { OpenTunnel } from './deps.js';
import { sourceRule, type Runtime } from './runtime.js';

export type RevokeReason = DenyReason | 'user-removed' | 'credentials-required';

/** Why the runtime would refuse this tunnel now; undefined when it would still be allowed. */
export function revokeReason(runtime: Runtime, tunnel: OpenTunnel): RevokeReason | undefined {
  const source = sourceRule(runtime, tunnel.client);
  if (source.auth.mode === 'basic') {
    if (tunnel.user === undefined) return 'credentials-required';
    if (!runtime.config.auth.users.some((user) => user.name === tunnel.user)) return 'user-removed';
  }
  const decision = decide(source.policy, { target: tunnel.target, client: tunnel.client, user: tunnel.user });
  return decision.allow || decision.reportOnly ? undefined : decision.reason;
}

/** Closes every tunnel the runtime would refuse, logging each; returns how many were closed. */
export function closeDeniedTunnels(tunnels: ReadonlySet<OpenTunnel>, runtime: Runtime, logger: Logger): number {
  let closed = 0;
  for (const tunnel of [...tunnels]) {
    const reason = revokeReason(runtime, tunnel);
    if (reason === undefined) continue;
    audit(logger, 'info', 'tunnel-revoked', { client: tunnel.client, user: tunnel.user, target: targetString(tunnel.target), reason });
    tunnel.close();
    closed += 1;
  }
  return closed;
}
