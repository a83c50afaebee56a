// The steps the CONNECT and absolute-URI paths share once a request is parsed: the admission refusal
// recorded, then route (address rules), the admission audited, and the target dialled. Each step audits
// and counts its own outcome; the caller only answers, in its own form (raw socket or ServerResponse).
import type { Socket } from 'node:net';
import type { SessionKind } from '../observability/metrics.js';
import { formatAuthority } from '../policy/target.js';
import type { Admission, Refusal } from './admit.js';
import { auditAdmitted, auditRefusal, auditUpstreamError, baseFields } from './audit-records.js';
import type { ConnectionContext } from './context.js';
import type { HandlerDeps } from './deps.js';
import { ProxyError, type ProxyErrorCode } from './errors.js';
import { parentAuditFields } from './parent.js';
import type { Runtime } from './runtime.js';
import { dial, findRoute } from './upstream.js';

export type Admitted = Extract<Admission, { ok: true }>;

/** Where a session is: the connection, its kind, and the request method for the audit records. */
export interface Session {
  readonly ctx: ConnectionContext;
  readonly kind: SessionKind;
  readonly method: string | undefined;
}

export type Reached =
  | { readonly ok: true; readonly upstream: Socket }
  | { readonly ok: false; readonly code: ProxyErrorCode };

/** Audits and counts a refused admission (and the lockouts it started). */
export function recordRefusal(deps: HandlerDeps, session: Session, refusal: Refusal): void {
  auditRefusal(deps.logger, session.ctx, session.method, refusal);
  deps.metrics.refused(session.kind, refusal);
  if (refusal.code === 'auth-required' && refusal.authFailure === 'missing') deps.metrics.credentialsMissing(session.ctx.client, refusal.clientRule);
  // Refused after authenticating (a target the policy denies): the client answered its challenge all the same.
  if ('user' in refusal && refusal.user !== undefined) deps.metrics.authenticated(session.ctx.client);
  if ('lockouts' in refusal) refusal.lockouts.forEach(() => deps.metrics.authLockout());
}

/** The audit fields every record of an admitted session carries. */
export function sessionFields(session: Session, admitted: Admitted): Record<string, unknown> {
  return { ...baseFields(session.ctx, session.method), user: admitted.user, target: formatAuthority(admitted.target), entry: admitted.entry, clientRule: admitted.clientRule };
}

/**
 * Routes and dials an admitted target: a socket to exactly the address that was checked, or why not.
 * `fields` are the session's audit fields (sessionFields).
 */
export async function reachTarget(
  deps: HandlerDeps,
  runtime: Runtime,
  session: Session,
  admitted: Admitted,
  fields: Readonly<Record<string, unknown>>,
): Promise<Reached> {
  const { target, user, entry, wouldDeny } = admitted;
  const { logger, metrics } = deps;
  try {
    const found = await findRoute(runtime, target, entry, metrics);
    if (!found.ok) {
      recordRefusal(deps, session, { ok: false, code: 'denied', decision: found.decision, target, user, clientRule: admitted.clientRule });
      return { ok: false, code: 'denied' };
    }
    auditAdmitted(logger, { ...fields, mapped: found.route.mapped, relay: found.route.parent?.proxy.config.url }, wouldDeny);
    if (user !== undefined) metrics.authenticated(session.ctx.client);
    if (wouldDeny !== undefined) metrics.wouldDeny(session.kind, wouldDeny.decision.reason);
    const upstream = await metrics.timeUpstreamConnect(dial(found.route, runtime.config.timeouts.connectSeconds * 1000));
    return { ok: true, upstream };
  } catch (err) {
    const code = err instanceof ProxyError ? err.code : 'network-error';
    auditUpstreamError(logger, session.ctx, session.method, user, target, code, parentAuditFields(err));
    metrics.upstreamFailed(session.kind, code);
    return { ok: false, code };
  }
}
