// Audit records shared by the CONNECT and absolute-URI paths, built from the closed sets of codes.
import type { Lockout } from '../auth/throttle.js';
import type { Logger } from '../observability/logger.js';
import { audit } from '../observability/logger.js';
import { clientText } from '../observability/log-text.js';
import type { PolicyConfig } from '../policy/config-types.js';
import { addressHint } from '../policy/hints.js';
import { formatAuthority } from '../policy/target.js';
import type { ConnectionContext } from './context.js';
import type { Refusal, WouldDeny } from './admit.js';
import type { InspectionFailure } from '../observability/outcomes.js';
import type { TunnelCheck } from '../tls/tunnel.js';
import { PROXY_ERRORS, type ProxyErrorCode } from './errors.js';

export function baseFields(ctx: ConnectionContext, method: string | undefined): Record<string, unknown> {
  return { client: ctx.client, clientPort: ctx.clientPort, method };
}

/** The record of a refused admission; `exchange` are the exchange's fields (id, client, and what admission learnt). */
export function auditRefusal(logger: Logger, exchange: Readonly<Record<string, unknown>>, refusal: Refusal): void {
  const fields = Object.assign({}, exchange, { clientRule: refusal.clientRule });
  const status = PROXY_ERRORS[refusal.code].status;
  switch (refusal.code) {
    case 'auth-required':
    case 'auth-locked':
    case 'auth-concurrent':
    case 'auth-busy':
    case 'plain-credentials':
      audit(
        logger,
        'warn',
        'auth-failed',
        Object.assign({}, fields, {
          user: refusal.claimedUser === undefined ? undefined : clientText(refusal.claimedUser),
          target: clientText(refusal.claimedTarget),
          decision: 'deny',
          reason: refusal.authFailure,
          status,
        }),
      );
      for (const lockout of refusal.lockouts) auditLockout(logger, fields, lockout);
      return;
    case 'bad-target':
      audit(logger, 'warn', 'bad-request', Object.assign({}, fields, { user: refusal.user, decision: 'deny', reason: refusal.targetError, status }));
      return;
    case 'denied':
      audit(
        logger,
        'warn',
        'request-denied',
        Object.assign({}, fields, {
          user: refusal.user,
          target: formatAuthority(refusal.target),
          decision: 'deny',
          reason: refusal.decision.reason,
          entry: refusal.decision.entry,
          hint: refusal.hint ?? (refusal.decision.reason === 'address-not-allowed' ? addressHint() : undefined),
          status,
        }),
      );
      return;
  }
}

/**
 * The record of an admitted request: request-allowed, or in report mode would-deny, which says on every
 * line that the gateway is not enforcing its allowlist. `fields` are the request's fields (baseFields,
 * user, target, entry and route details).
 */
export function auditAdmitted(logger: Logger, fields: Readonly<Record<string, unknown>>, wouldDeny: WouldDeny | undefined): void {
  if (wouldDeny === undefined) {
    audit(logger, 'info', 'request-allowed', Object.assign({}, fields, { decision: 'allow' }));
    return;
  }
  const { decision, hint } = wouldDeny;
  audit(
    logger,
    'warn',
    'would-deny',
    Object.assign({}, fields, { decision: 'would-deny', reason: decision.reason, hint, enforcing: false }),
    `NOT ENFORCING (policy.mode: report): relayed a request enforce mode would refuse (${decision.reason})`,
  );
}

/**
 * In report mode, a warning that the allowlist is not enforced; written at start-up and after every reload
 * that leaves the gateway in report mode. Enforce mode writes nothing.
 */
export function auditPolicyMode(logger: Logger, policy: PolicyConfig): void {
  if (policy.mode !== 'report') return;
  audit(
    logger,
    'warn',
    'policy-not-enforced',
    { policyMode: policy.mode, enforcing: false },
    'NOT ENFORCING: policy.mode is report; requests outside the allowlist are relayed and logged as would-deny (address rules still apply)',
  );
}

/** A client address (or IPv6 /64) or a user name locked out by auth/throttle.ts after repeated failures. */
function auditLockout(logger: Logger, fields: Readonly<Record<string, unknown>>, lockout: Lockout): void {
  const who = lockout.scope === 'user' ? { user: clientText(lockout.key) } : { clientKey: lockout.key };
  audit(logger, 'warn', 'auth-lockout', Object.assign({}, fields, { scope: lockout.scope }, who, { failures: lockout.failures, lockoutSeconds: lockout.seconds }));
}

/** A refusal decided from the head alone (framing, draining, not a proxy request). */
export function auditEarlyRefusal(logger: Logger, exchange: Readonly<Record<string, unknown>>, code: ProxyErrorCode): void {
  const event = code === 'not-a-proxy-request' ? 'not-a-proxy-request' : 'bad-request';
  audit(logger, 'warn', event, Object.assign({}, exchange, { decision: 'deny', reason: code, status: PROXY_ERRORS[code].status }));
}

/** Resolving or reaching an admitted target failed; `extra` names the relay proxy and what it answered. */
export function auditUpstreamError(logger: Logger, exchange: Readonly<Record<string, unknown>>, code: ProxyErrorCode, extra: Readonly<Record<string, unknown>> = {}): void {
  audit(logger, 'warn', 'upstream-error', Object.assign({}, exchange, { reason: code, status: PROXY_ERRORS[code].status }, extra));
}

const VERSION_REFUSALS = new Set<InspectionFailure>(['version-too-low', 'client-certificate-hidden']);
const POLICY_REFUSALS = new Set<InspectionFailure>(['sni-mismatch', 'sni-missing', 'client-certificate-refused']);

/**
 * The tunnel inspection's record (Windows events 107 verified, 106 version refused, 402 parse error, 105
 * refused). Nothing is written when inspection is off.
 */
export function auditInspection(logger: Logger, exchange: Readonly<Record<string, unknown>>, check: Extract<TunnelCheck, { outcome: 'relay' | 'refused' }>): void {
  if (check.facts === undefined) return;
  const record = Object.assign({}, exchange, check.facts);
  if (check.outcome === 'relay') {
    audit(logger, 'info', 'tls-verified', Object.assign({}, record, { decision: 'allow' }));
    return;
  }
  const event = VERSION_REFUSALS.has(check.reason) ? 'tls-version-refused' : POLICY_REFUSALS.has(check.reason) ? 'request-denied' : 'tls-parse-error';
  audit(logger, 'warn', event, Object.assign({}, record, { decision: 'deny', reason: check.reason }));
}
