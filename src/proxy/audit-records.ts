// Audit records shared by the CONNECT and absolute-URI paths, built from the closed sets of codes.
import type { Logger } from '../observability/logger.js';
import { audit } from '../observability/logger.js';
import type { Target } from '../policy/types.js';
import type { ConnectionContext } from './context.js';
import type { Refusal } from './admit.js';
import { PROXY_ERRORS, type ProxyErrorCode } from './errors.js';

export function targetString(target: Target): string {
  return target.kind === 'ipv6' ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

export function baseFields(ctx: ConnectionContext, method: string | undefined): Record<string, unknown> {
  return { client: ctx.client, clientPort: ctx.clientPort, method };
}

export function auditRefusal(logger: Logger, ctx: ConnectionContext, method: string | undefined, refusal: Refusal): void {
  const fields = baseFields(ctx, method);
  const status = PROXY_ERRORS[refusal.code].status;
  switch (refusal.code) {
    case 'auth-required':
      audit(logger, 'warn', 'auth-failed', { ...fields, decision: 'deny', reason: refusal.authFailure, status });
      return;
    case 'bad-target':
      audit(logger, 'warn', 'bad-request', { ...fields, user: refusal.user, decision: 'deny', reason: refusal.targetError, status });
      return;
    case 'denied':
      audit(logger, 'warn', 'request-denied', {
        ...fields,
        user: refusal.user,
        target: targetString(refusal.target),
        decision: 'deny',
        reason: refusal.decision.reason,
        entry: refusal.decision.entry,
        status,
      });
      return;
  }
}

/** A refusal decided before admission (framing, draining, not a proxy request). */
export function auditEarlyRefusal(logger: Logger, ctx: ConnectionContext, method: string | undefined, code: ProxyErrorCode): void {
  const event = code === 'not-a-proxy-request' ? 'not-a-proxy-request' : 'bad-request';
  audit(logger, 'warn', event, { ...baseFields(ctx, method), decision: 'deny', reason: code, status: PROXY_ERRORS[code].status });
}

export function auditUpstreamError(
  logger: Logger,
  ctx: ConnectionContext,
  method: string | undefined,
  user: string | undefined,
  target: Target,
  code: ProxyErrorCode,
): void {
  audit(logger, 'warn', 'upstream-error', {
    ...baseFields(ctx, method),
    user,
    target: targetString(target),
    reason: code,
    status: PROXY_ERRORS[code].status,
  });
}
