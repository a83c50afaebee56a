// Admission limits on client connections and tunnels: how many connections are open at once, in total and
// per client address (an IPv6 client by its /64, as auth/throttle.ts clientKey groups it), and how many
// tunnels each user holds. Over a limit the client is answered at once (503 or 429 with Retry-After) and the
// refusal is logged with its reason; nothing waits in a queue.
// Every listener is opened with the limiter (listener.ts ListenerServices: it cannot be opened without one)
// and calls admitConnection() once it knows the client's address, after any PROXY header, so that the
// per-client count uses the address the audit log shows.
import type { Socket } from 'node:net';
import { clientKey } from '../auth/throttle.js';
import type { LimitsConfig } from '../config/types.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { audit, type Logger } from '../observability/logger.js';
import type { ConnectionContext } from './context.js';
import { PROXY_ERRORS } from './errors.js';
import { refuseSocket } from './respond.js';

export type LimitCode = 'too-many-connections' | 'client-connection-limit' | 'user-tunnel-limit';

/** A tunnel over its user's limit, with how many that user holds. */
export interface LimitRefusal {
  readonly code: 'user-tunnel-limit';
  readonly tunnels: number;
}

/** The metrics the limiter reports to. */
export type LimitMetrics = Pick<GatewayMetrics, 'refused' | 'connectionLimit'>;

export interface LimiterOptions {
  /** The limits in force now (they follow reloads). */
  readonly limits: () => LimitsConfig;
  readonly logger: Logger;
  /** Connections the descriptor limit can carry (fd-budget.ts); undefined: no ceiling known. */
  readonly ceiling: number | undefined;
  readonly metrics: LimitMetrics;
}

/** accept() failures are logged at most this often; the ones in between are counted in the next record. */
const ACCEPT_LOG_INTERVAL_MS = 1000;

export class ConnectionLimiter {
  readonly #options: LimiterOptions;
  #open = 0;
  readonly #perClient = new Map<string, number>();
  readonly #perUser = new Map<string, number>();
  #acceptFailures = 0;
  #acceptLoggedAt = -Infinity;
  #loweredFrom: number | undefined;

  constructor(options: LimiterOptions) {
    this.#options = options;
    this.#noteLimit();
  }

  /** Client connections counted now. */
  get openConnections(): number {
    return this.#open;
  }

  /** The total in force: the configured maximum, lowered to what the descriptor limit can carry. */
  get maxConnections(): number {
    return Math.min(this.#options.limits().maxConnections, this.#options.ceiling ?? Infinity);
  }

  /**
   * Counts an accepted connection until its socket closes, or, over a limit, records the refusal, has
   * `answer` write the 503/429 (by default in plain HTTP; a TLS listener answers inside TLS) and returns
   * false: the caller must then not hand the socket on.
   */
  admitConnection(socket: Socket, ctx: ConnectionContext, answer: (code: LimitCode) => void = (code) => refuseSocket(socket, code)): boolean {
    const limits = this.#options.limits();
    // Grouped as the auth throttle groups (an IPv6 client by its /64): one host owns a /64 whole, and would
    // otherwise get maxConnectionsPerClient connections from each of its 2^64 addresses.
    const key = clientKey(ctx.client);
    const fromClient = this.#perClient.get(key) ?? 0;
    const code: LimitCode | undefined =
      this.#open >= this.maxConnections
        ? 'too-many-connections'
        : limits.maxConnectionsPerClient > 0 && fromClient >= limits.maxConnectionsPerClient
          ? 'client-connection-limit'
          : undefined;
    if (code !== undefined) {
      this.#noteLimit();
      this.#record(code, { client: ctx.client, clientPort: ctx.clientPort, listener: ctx.listener, open: this.#open });
      answer(code);
      return false;
    }
    this.#open += 1;
    this.#perClient.set(key, fromClient + 1);
    socket.on('close', () => {
      this.#open -= 1;
      release(this.#perClient, key);
    });
    return true;
  }

  /**
   * Holds one of `user`'s tunnel slots while `socket` (the client's) stays open, or says why not: the
   * exchange refuses it (429). Anonymous requests have no user and no per-user limit.
   */
  holdTunnel(socket: Socket, user: string | undefined): LimitRefusal | undefined {
    const max = this.#options.limits().maxTunnelsPerUser;
    if (user === undefined || max === 0) return undefined;
    const held = this.#perUser.get(user) ?? 0;
    if (held >= max) return { code: 'user-tunnel-limit', tunnels: held };
    this.#perUser.set(user, held + 1);
    socket.on('close', () => release(this.#perUser, user));
    return undefined;
  }

  /**
   * A listener's accept() failed and libuv could not deal with it itself (it closes connections it has no
   * descriptor for with a reserved one, silently, so the listener never spins). Without this listener the
   * 'error' would end the process; with it the gateway keeps serving what it holds.
   */
  acceptFailed(err: NodeJS.ErrnoException, listener: string): void {
    this.#acceptFailures += 1;
    const now = performance.now();
    if (now - this.#acceptLoggedAt < ACCEPT_LOG_INTERVAL_MS) return;
    this.#acceptLoggedAt = now;
    audit(this.#options.logger, 'error', 'accept-failed', {
      listener,
      code: err.code,
      failures: this.#acceptFailures,
      openConnections: this.#open,
    });
    this.#acceptFailures = 0;
  }

  #record(code: LimitCode, fields: Readonly<Record<string, unknown>>): void {
    const { status } = PROXY_ERRORS[code];
    audit(this.#options.logger, 'warn', 'limit-refused', Object.assign({}, fields, { decision: 'deny', reason: code, status }));
    this.#options.metrics.refused('request', code);
  }

  /** Tells operators (once per value) when the descriptor limit lowers the configured maximum. */
  #noteLimit(): void {
    const configured = this.#options.limits().maxConnections;
    const effective = this.maxConnections;
    this.#options.metrics.connectionLimit(effective);
    if (effective >= configured || this.#loweredFrom === configured) return;
    this.#loweredFrom = configured;
    audit(this.#options.logger, 'warn', 'connection-limit-lowered', {
      configured,
      effective,
      reason: 'file-descriptor-limit',
    }, `limits.maxConnections ${configured} lowered to ${effective}: raise the open-files limit (LimitNOFILE) to allow more`);
  }
}

function release(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
