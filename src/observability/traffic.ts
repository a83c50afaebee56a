// Bytes relayed, counted so a scrape sees data flowing through tunnels that are still open: agents hold a
// tunnel for minutes, and counting only at close would show a flat line followed by a spike. Finished
// sessions are added up once; open ones are read from their upstream socket's byte counts at scrape time.
import type { Socket } from 'node:net';

/** [from client, to client] */
export type ByteCounts = readonly [fromClient: number, toClient: number];

/** What one session is counted under: its allowlist entry and, when labelled, its workspace. */
export interface TrafficLabels {
  readonly entry: string;
  readonly workspace: string | undefined;
}

export interface TrafficTotals {
  readonly all: ByteCounts;
  readonly byEntry: ReadonlyMap<string, ByteCounts>;
  readonly byWorkspace: ReadonlyMap<string, ByteCounts>;
}

/** One tunnel or forwarded request; its upstream socket counts what the client sent and received. */
export interface TrafficSession extends TrafficLabels {
  readonly upstream: Socket;
}

function add(map: Map<string, ByteCounts>, key: string | undefined, [from, to]: ByteCounts): void {
  if (key === undefined) return;
  const [f, t] = map.get(key) ?? [0, 0];
  map.set(key, [f + from, t + to]);
}

function record(byEntry: Map<string, ByteCounts>, byWorkspace: Map<string, ByteCounts>, labels: TrafficLabels, bytes: ByteCounts): void {
  add(byEntry, labels.entry, bytes);
  add(byWorkspace, labels.workspace, bytes);
}

/** The client's view of an upstream socket: what was written upstream came from the client. */
export function socketBytes(upstream: Socket): ByteCounts {
  return [upstream.bytesWritten, upstream.bytesRead];
}

export class TrafficLedger {
  readonly #open = new Set<TrafficSession>();
  #all: ByteCounts = [0, 0];
  readonly #byEntry = new Map<string, ByteCounts>();
  readonly #byWorkspace = new Map<string, ByteCounts>();

  open(labels: TrafficLabels, upstream: Socket): TrafficSession {
    const session: TrafficSession = Object.assign({}, labels, { upstream });
    this.#open.add(session);
    return session;
  }

  /** Moves a session's final counts (the same figures the audit record carries) into the finished totals. */
  close(session: TrafficSession, bytes: ByteCounts): void {
    if (!this.#open.delete(session)) return;
    record(this.#byEntry, this.#byWorkspace, session, bytes);
    this.#all = [this.#all[0] + bytes[0], this.#all[1] + bytes[1]];
  }

  totals(): TrafficTotals {
    const byEntry = new Map(this.#byEntry);
    const byWorkspace = new Map(this.#byWorkspace);
    let [from, to] = this.#all;
    for (const session of this.#open) {
      const bytes = socketBytes(session.upstream);
      record(byEntry, byWorkspace, session, bytes);
      from += bytes[0];
      to += bytes[1];
    }
    return { all: [from, to], byEntry, byWorkspace };
  }
}
