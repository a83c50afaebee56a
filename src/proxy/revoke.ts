// After a reload with `reload.closeDeniedTunnels`, admitted CONNECT exchanges are held to the new
// configuration: one whose user is gone, or whose target the new policy denies, is ended. Every exchange is
// registered from its admission, not only once it relays (issue 16): a relaying tunnel is closed at once; one
// still being set up (dialling, or waiting for its ClientHello) is marked and ended when its set-up step
// ends, before it relays a byte. A reload during the admission itself is caught the same way: each step
// boundary compares the configuration the exchange was judged by with the one in force.
// Address rules are not re-checked (that would mean resolving every target again); the name, port,
// workspace, region and user rules are.
import type { Socket } from 'node:net';
import { decide } from '../policy/decide.js';
import type { DenyReason, Target } from '../policy/types.js';
import type { Tunnel } from './relay.js';
import { sourceRule, type Runtime } from './runtime.js';

export type RevokeReason = DenyReason | 'user-removed' | 'credentials-required';

/** Records the revocation of a relaying tunnel: its exchange (exchange.ts). */
export interface RevocationRecorder {
  revoked(reason: RevokeReason, stage: 'relaying'): void;
}

/** Who an exchange serves and where to. */
export interface TunnelParty {
  readonly target: Target;
  readonly user: string | undefined;
  readonly client: string;
}

/** Why the runtime would refuse this exchange now; undefined when it would still be allowed. */
export function revokeReason(runtime: Runtime, party: TunnelParty): RevokeReason | undefined {
  // The client's per-source rule decides its authentication and allowlist, as at admission.
  const source = sourceRule(runtime, party.client);
  if (source.auth.mode === 'basic') {
    if (party.user === undefined) return 'credentials-required';
    if (!runtime.config.auth.users.some((user) => user.name === party.user)) return 'user-removed';
  }
  const decision = decide(source.policy, { target: party.target, client: party.client, user: party.user });
  return decision.allow || decision.reportOnly ? undefined : decision.reason;
}

/**
 * One admitted CONNECT exchange, in the registry (HandlerDeps.tunnels) from its admission to its end.
 * connect.ts tells it what it holds as set-up proceeds (dialled, relaying) and asks `revocation()` at each
 * step boundary.
 */
export class AdmittedTunnel {
  readonly target: Target;
  readonly user: string | undefined;
  readonly client: string;
  readonly #clientSocket: Socket;
  /**
   * The configuration this exchange was last judged by, while it is set up; dropped once it relays, so a
   * long tunnel does not keep a replaced configuration (and its caches) alive.
   */
  #judgedBy: Runtime | undefined;
  #revoked: RevokeReason | undefined;
  #upstream: Socket | undefined;
  #relay: Tunnel | undefined;
  /** Records a revocation of the relaying tunnel; an object, not a closure, so no set-up scope lives on with it. */
  readonly #recorder: RevocationRecorder;

  constructor(party: TunnelParty, clientSocket: Socket, judgedBy: Runtime, recorder: RevocationRecorder) {
    this.target = party.target;
    this.user = party.user;
    this.client = party.client;
    this.#clientSocket = clientSocket;
    this.#judgedBy = judgedBy;
    this.#recorder = recorder;
  }

  get relaying(): boolean {
    return this.#relay !== undefined;
  }

  dialled(upstream: Socket): void {
    this.#upstream = upstream;
  }

  /** From now on close() ends the relay, which writes the tunnel's closing record. */
  relayed(tunnel: Tunnel): void {
    this.#relay = tunnel;
    this.#judgedBy = undefined;
  }

  /** Bytes the gateway holds for this exchange in its sockets' buffers, both directions (backpressure). */
  bufferedBytes(): number {
    const held = (socket: Socket | undefined): number => (socket === undefined ? 0 : socket.writableLength + socket.readableLength);
    return held(this.#clientSocket) + held(this.#upstream);
  }

  /** Ends the exchange from the gateway's side (shutdown, revocation). */
  close(): void {
    if (this.#relay !== undefined) {
      this.#relay.close();
      return;
    }
    this.#upstream?.destroy();
    this.#clientSocket.destroy();
  }

  /**
   * Holds the exchange to `runtime` (a reload with closeDeniedTunnels). Returns why it is revoked, or
   * undefined when still allowed; the caller closes a relaying tunnel, one in set-up ends at its next step.
   */
  judge(runtime: Runtime): RevokeReason | undefined {
    if (this.#relay === undefined) this.#judgedBy = runtime;
    this.#revoked ??= revokeReason(runtime, this);
    return this.#revoked;
  }

  /**
   * At a set-up step boundary: why the exchange must end now, or undefined to go on. Revoked by a reload,
   * or judged by an older configuration when the one in force (`current`) says reload.closeDeniedTunnels
   * and denies it.
   */
  revocation(current: Runtime): RevokeReason | undefined {
    if (this.#revoked === undefined && current !== this.#judgedBy && current.config.reload.closeDeniedTunnels) this.judge(current);
    return this.#revoked;
  }

  /** Ends a relaying tunnel a reload revoked, recorded by its exchange. */
  revokeRelaying(reason: RevokeReason): void {
    this.#recorder.revoked(reason, 'relaying');
    this.close();
  }
}

/**
 * Reload: revokes every exchange `runtime` would refuse. Relaying tunnels are closed now; those in set-up
 * are ended at the end of their current step (connect.ts). Each is recorded by its exchange. Returns how
 * many were revoked.
 */
export function closeDeniedTunnels(tunnels: ReadonlySet<AdmittedTunnel>, runtime: Runtime): number {
  let revoked = 0;
  for (const tunnel of [...tunnels]) {
    const reason = tunnel.judge(runtime);
    if (reason === undefined) continue;
    revoked += 1;
    if (tunnel.relaying) tunnel.revokeRelaying(reason);
  }
  return revoked;
}
