// Pipelined requests on one connection, taken one at a time. Node parses every request a client pipelined
// and emits each at once, queueing only their answers; a handler that ran at once would send a request
// upstream while an earlier one on the connection was still being answered — or had been refused, whose
// answer closes the connection so that the later answers are never written (issue 16, finding 8).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { refuseResponse } from './respond.js';

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
/** A CONNECT or Upgrade request, which Node hands over with the raw socket. */
type HandOverHandler = (req: IncomingMessage, socket: Socket, head: Buffer) => void;

function destroySelf(this: Socket): void {
  this.destroy();
}

/** A request Node emitted whose answer has not closed yet. */
interface Open {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Its turn came: it has the socket, and its handler ran. */
  started: boolean;
  /** Its body failed to parse before its turn: at its turn it is answered 400 instead of handled. */
  broken: boolean;
  /** Run when its answer has closed. */
  readonly whenClosed: (() => void)[];
}

/** The open requests of each connection of one gateway's HTTP server, oldest first. */
export class Pipelines {
  readonly #open = new WeakMap<Socket, Open[]>();

  /**
   * Runs `handler` for a request only once its answer is the connection's current one: Node hands the
   * socket to the queued answers in order, each when the one before has been written. A request queued
   * behind a refusal never gets its turn — the refusal closes the connection — and is dropped unseen:
   * never sent upstream, never audited, as if the client had not sent it.
   */
  oneAtATime(handler: RequestHandler): RequestHandler {
    return (req, res) => {
      const open = this.#track(req.socket, req, res);
      const run = (): void => {
        open.started = true;
        // The parse error was audited and counted when it happened (gateway.ts).
        if (open.broken) refuseResponse(res, 'bad-request');
        else handler(req, res);
      };
      if (res.socket !== null) {
        run();
        return;
      }
      // Node destroys every request still waiting when the connection closes; one listener each, on the
      // request rather than the shared socket, so a long pipeline adds no listeners to one emitter.
      const onTurn = (): void => {
        req.off('close', onClose);
        run();
      };
      const onClose = (): void => {
        res.off('socket', onTurn);
      };
      res.once('socket', onTurn);
      req.once('close', onClose);
    };
  }

  /**
   * The connection's parser failed: `answer` writes the error on the raw socket and closes it. When the
   * failure is in the body of the request being handled, that is at once (the connection is cut instead
   * when that request's answer has begun);
   * when it is in the body of a request still waiting, that request is answered 400 at its turn; otherwise
   * (a head that failed, bytes after a closing request) `answer` runs once every request before the
   * failure has been answered, so nothing cuts in ahead of them.
   */
  parseFailed(socket: Socket, answer: () => void): void {
    const newest = this.#open.get(socket)?.at(-1);
    if (newest === undefined || newest.req.complete) {
      this.whenAnswered(socket, answer);
    } else if (newest.started) {
      // An answer already under way cannot be followed by another: the connection is cut instead.
      if (newest.res.headersSent) socket.destroy();
      else answer();
    } else {
      newest.broken = true;
    }
  }

  /**
   * Node hands over a CONNECT or Upgrade request with the raw socket at once, even pipelined behind requests
   * still being answered: `handler` runs once those answers are written, and never when one of them closed
   * the connection (a refusal) — the request is then dropped unseen, like any request behind a refusal.
   */
  handOverInTurn(handler: HandOverHandler): HandOverHandler {
    return (req, socket, head) => {
      // Node stopped watching the socket for errors when it handed it over; a reset while waiting must not
      // become an uncaught 'error'. A shared function: a closure here would keep the request, its headers
      // and `head` for as long as the tunnel lives (issue 14).
      socket.on('error', destroySelf);
      this.whenAnswered(socket, () => {
        if (socket.writable) handler(req, socket, head);
        else socket.destroy();
      });
    };
  }

  /** Runs `then` once every request emitted on `socket` so far has been answered, at once when none is open. */
  whenAnswered(socket: Socket, then: () => void): void {
    const newest = this.#open.get(socket)?.at(-1);
    // Node writes the answers in order: when the newest has closed, every one before it has.
    if (newest === undefined) then();
    else newest.whenClosed.push(then);
  }

  #track(socket: Socket, req: IncomingMessage, res: ServerResponse): Open {
    let list = this.#open.get(socket);
    if (list === undefined) {
      list = [];
      this.#open.set(socket, list);
    }
    const open: Open = { req, res, started: false, broken: false, whenClosed: [] };
    const owner = list;
    owner.push(open);
    res.once('close', () => {
      owner.splice(owner.indexOf(open), 1);
      for (const then of open.whenClosed) then();
    });
    return open;
  }
}
