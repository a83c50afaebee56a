// Pipelined requests on one connection, taken one at a time. Node parses every request a client pipelined
// and emits each at once, queueing only their answers; a handler that ran at once would send a request
// upstream while an earlier one on the connection was still being answered — or had been refused, whose
// answer closes the connection so that the later answers are never written (issue 16, finding 8).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

interface Pending {
  /** Requests emitted on the connection whose answers have not closed yet. */
  count: number;
  /** Run once `count` is back to 0. */
  readonly whenAnswered: (() => void)[];
}

/** The requests each connection has pending, for one gateway's HTTP server. */
export class Pipelines {
  readonly #pending = new WeakMap<Socket, Pending>();

  /**
   * Runs `handler` for a request only once its answer is the connection's current one: Node hands the
   * socket to the queued answers in order, each when the one before has been written. A request queued
   * behind a refusal never gets its turn — the refusal closes the connection — and is dropped unseen:
   * never sent upstream, never audited, as if the client had not sent it.
   */
  oneAtATime(handler: RequestHandler): RequestHandler {
    return (req, res) => {
      this.#track(req.socket, res);
      if (res.socket !== null) {
        handler(req, res);
        return;
      }
      // Node destroys every request still waiting when the connection closes; one listener each, on the
      // request rather than the shared socket, so a long pipeline adds no listeners to one emitter.
      const onTurn = (): void => {
        req.off('close', onClose);
        handler(req, res);
      };
      const onClose = (): void => {
        res.off('socket', onTurn);
      };
      res.once('socket', onTurn);
      req.once('close', onClose);
    };
  }

  /**
   * Runs `then` once every request already emitted on `socket` has been answered (at once when none is
   * pending): an answer the gateway writes on the raw socket, such as a parse error's, then follows the
   * answers before it instead of cutting in.
   */
  whenAnswered(socket: Socket, then: () => void): void {
    const pending = this.#pending.get(socket);
    if (pending === undefined || pending.count === 0) then();
    else pending.whenAnswered.push(then);
  }

  #track(socket: Socket, res: ServerResponse): void {
    let pending = this.#pending.get(socket);
    if (pending === undefined) {
      pending = { count: 0, whenAnswered: [] };
      this.#pending.set(socket, pending);
    }
    const entry = pending;
    entry.count += 1;
    res.once('close', () => {
      entry.count -= 1;
      if (entry.count > 0) return;
      for (const then of entry.whenAnswered.splice(0)) then();
    });
  }
}
