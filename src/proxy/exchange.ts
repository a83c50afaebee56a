// One CONNECT or forwarded request from its parsed head to its end. The exchange is the only place that
// refuses (audit record, count and answer, all from the error table), admits, reaches the target and
// closes; the steps around it (admit.ts, upstream.ts, tls/inspect.ts, limits.ts) return outcomes and
// write nothing. Every record it writes carries its `exchangeId`, so the decision and the close of one
// exchange can be joined in the audit log; the close is written exactly once.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Landing } from '../net/landing.js';
import type { Logger } from '../observability/logger.js';
import { audit } from '../observability/logger.js';
import type { GatewayMetrics, SessionKind, SessionMeter } from '../observability/metrics.js';
import type { Admission, Refusal } from './admit.js';
import { auditAdmitted, auditEarlyRefusal, auditInspection, auditRefusal, auditUpstreamError, baseFields } from './audit-records.js';
import { formatAuthority } from '../policy/target.js';
import type { ConnectionContext } from './context.js';
import { PROXY_ERRORS, ProxyError, type ProxyErrorCode } from './errors.js';
import type { LimitRefusal } from './limits.js';
import { parentAuditFields } from './parent.js';
import type { ClosedBy } from '../observability/outcomes.js';
import type { RevokeReason } from './revoke.js';
import type { Runtime } from './runtime.js';
import { dial, findRoute } from './upstream.js';
import type { TunnelCheck } from '../tls/tunnel.js';

export type Admitted = Extract<Admission, { ok: true }>;

/** Writes a refusal to the client in the form its exchange takes (a raw socket or a ServerResponse). */
export type Answer = (code: ProxyErrorCode, proxyAuthenticate?: string) => void;

/** How an exchange ended; the fields of its close record. */
export interface CloseStats {
  readonly bytesFromClient: number;
  readonly bytesToClient: number;
  readonly durationMs: number;
  readonly closedBy?: ClosedBy;
  /** Why it ended before it relayed ('closed-during-handshake'); absent for an ordinary end. */
  readonly reason?: string;
  /** A forwarded request's answer status; absent when none was written. */
  readonly status?: number;
}

/** What every exchange needs from the running gateway. */
export interface ExchangeDeps {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly ids: ExchangeIds;
  /** Where the reads of the sockets it dials land (net/landing.ts). */
  readonly landing: Landing;
}

/**
 * Exchange ids: a random prefix per process, then a counter. Unique within one gateway's log (workers
 * differ by prefix) without a random draw per exchange.
 */
export class ExchangeIds {
  readonly #prefix = randomBytes(4).toString('hex');
  #next = 0;

  next(): string {
    this.#next += 1;
    return `${this.#prefix}-${this.#next.toString(36)}`;
  }
}

export class Exchange {
  readonly id: string;
  readonly kind: SessionKind;
  readonly ctx: ConnectionContext;
  readonly method: string | undefined;
  readonly #deps: ExchangeDeps;
  readonly #answer: Answer;
  #fields: Readonly<Record<string, unknown>>;
  #admitted: Admitted | undefined;
  #meter: SessionMeter | undefined;
  #closed = false;

  constructor(deps: ExchangeDeps, kind: SessionKind, ctx: ConnectionContext, method: string | undefined, answer: Answer) {
    this.#deps = deps;
    this.id = deps.ids.next();
    this.kind = kind;
    this.ctx = ctx;
    this.method = method;
    this.#answer = answer;
    this.#fields = { exchangeId: this.id, ...baseFields(ctx, method) };
  }

  /** The audit fields every record of this exchange carries: its id, the client, and once admitted, who goes where. */
  get fields(): Readonly<Record<string, unknown>> {
    return this.#fields;
  }

  /** A refusal decided from the head alone, before admission (framing, draining, not a proxy request). */
  refuseEarly(code: ProxyErrorCode): void {
    auditEarlyRefusal(this.#deps.logger, this.#fields, code);
    this.#deps.metrics.refused(this.kind, code);
    this.#answer(code);
  }

  /** Admission refused it (credentials, target, policy), or the address rules did after admission. */
  refuse(refusal: Refusal, proxyAuthenticate?: string): void {
    const { metrics } = this.#deps;
    auditRefusal(this.#deps.logger, this.#fields, refusal);
    metrics.refused(this.kind, refusal);
    if (refusal.code === 'auth-required' && refusal.authFailure === 'missing') metrics.credentialsMissing(this.ctx.client, refusal.clientRule);
    // Refused after authenticating (a target the policy denies): the client answered its challenge all the same.
    if ('user' in refusal && refusal.user !== undefined) metrics.authenticated(this.ctx.client);
    if ('lockouts' in refusal) refusal.lockouts.forEach(() => metrics.authLockout());
    this.#answer(refusal.code, refusal.code === 'auth-required' ? proxyAuthenticate : undefined);
  }

  /** Admission passed: from now on every record names the user, target, entry and per-source rule. */
  admit(admitted: Admitted): void {
    this.#admitted = admitted;
    this.#fields = Object.assign({}, this.#fields, { user: admitted.user, target: formatAuthority(admitted.target), entry: admitted.entry, clientRule: admitted.clientRule });
  }

  /** A limit (limits.ts) refused the admitted exchange. */
  refuseLimit(refusal: LimitRefusal): void {
    const { code, ...details } = refusal;
    audit(this.#deps.logger, 'warn', 'limit-refused', Object.assign({}, this.#fields, details, { decision: 'deny', reason: code, status: PROXY_ERRORS[code].status }));
    this.#deps.metrics.refused(this.kind, code);
    this.#answer(code);
  }

  /**
   * Routes and dials the admitted target: a socket to exactly the address that was checked. Writes the
   * decision record (request-allowed, or would-deny in report mode) once the route passes the address
   * rules; on a refusal or a failure it records, counts and answers, and returns undefined.
   */
  async reach(runtime: Runtime): Promise<Socket | undefined> {
    const admitted = this.#admittedOrThrow();
    const { target, user, entry, wouldDeny } = admitted;
    const { logger, metrics } = this.#deps;
    try {
      const found = await findRoute(runtime, target, entry, metrics);
      if (!found.ok) {
        this.refuse({ ok: false, code: 'denied', decision: found.decision, target, user, clientRule: admitted.clientRule });
        return undefined;
      }
      auditAdmitted(logger, Object.assign({}, this.#fields, { mapped: found.route.mapped, relay: found.route.parent?.proxy.config.url }), wouldDeny);
      if (user !== undefined) metrics.authenticated(this.ctx.client);
      if (wouldDeny !== undefined) metrics.wouldDeny(this.kind, wouldDeny.decision.reason);
      return await metrics.timeUpstreamConnect(dial(found.route, runtime.config.timeouts.connectSeconds * 1000, this.#deps.landing));
    } catch (err) {
      const code = err instanceof ProxyError ? err.code : 'network-error';
      auditUpstreamError(logger, this.#fields, code, parentAuditFields(err));
      metrics.upstreamFailed(this.kind, code);
      this.#answer(code);
      return undefined;
    }
  }

  /**
   * A reload revoked the exchange (revoke.ts). Before the 200 (`connecting`) it is answered as a new request
   * would be, 403 or 407, and counted as refused; during the handshake the tunnel is only closed. A
   * relaying tunnel was counted when it opened: its revocation is recorded, not counted again.
   */
  revoked(reason: RevokeReason, stage: 'connecting' | 'handshake' | 'relaying', proxyAuthenticate?: string): void {
    audit(this.#deps.logger, 'info', 'tunnel-revoked', Object.assign({}, this.#fields, { reason, stage }));
    if (stage === 'relaying') return;
    const credentials = reason === 'user-removed' || reason === 'credentials-required';
    if (credentials) this.#deps.metrics.refused(this.kind, 'auth-required');
    else this.#deps.metrics.refused(this.kind, { code: 'denied', decision: { reason } });
    if (stage === 'connecting') this.#answer(credentials ? 'auth-required' : 'denied', credentials ? proxyAuthenticate : undefined);
  }

  /** The tunnel inspection's outcome (tls/tunnel.ts): its record and count; a tunnel that closed during it is closed here. */
  inspected(check: TunnelCheck): void {
    if (check.outcome === 'held-back') return;
    if (check.outcome === 'closed') {
      this.#deps.metrics.tunnelAbandoned('closed-during-handshake');
      this.close(Object.assign({}, check.stats, { reason: 'closed-during-handshake' }), check.facts);
      return;
    }
    auditInspection(this.#deps.logger, this.#fields, check);
    if (check.outcome === 'refused') this.#deps.metrics.refused(this.kind, check.reason);
  }

  /** The exchange relays (a tunnel) or was sent (a forwarded request): its traffic is metered until it closes. */
  opened(upstream: Socket): void {
    const admitted = this.#admittedOrThrow();
    const destination = { entry: admitted.entry, host: admitted.target.host };
    this.#meter = this.kind === 'tunnel' ? this.#deps.metrics.tunnelOpened(destination, upstream) : this.#deps.metrics.requestForwarded(destination, upstream);
  }

  /**
   * The close record (tunnel-closed or request-completed), written once whatever ended it. An exchange that
   * never opened (the client left while the target was dialled) is counted as abandoned.
   */
  close(stats: CloseStats, extra: Readonly<Record<string, unknown>> = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    const { logger, metrics } = this.#deps;
    audit(logger, 'info', this.kind === 'tunnel' ? 'tunnel-closed' : 'request-completed', Object.assign({}, this.#fields, extra, stats));
    const meter = this.#meter;
    if (meter === undefined) return;
    if (this.kind === 'tunnel') metrics.tunnelClosed(meter, Object.assign({}, stats, { closedBy: stats.closedBy ?? 'client' }));
    else metrics.requestCompleted(meter);
  }

  /** The target failed after a forwarded request was sent, while the client still waited. */
  failedUpstream(): void {
    this.#deps.metrics.upstreamError('upstream-error');
    this.#answer('upstream-error');
  }

  #admittedOrThrow(): Admitted {
    if (this.#admitted === undefined) throw new Error(`exchange ${this.id}: a step that needs admission ran before it`);
    return this.#admitted;
  }
}
