// Pipelined requests on one connection, taken one at a time. Node parses every request a client pipelined
// and emits each at once, queueing only their answers; a handler that ran at once would send a request
// upstream while an earlier one on the connection was still being answered — or had been refused, whose
// answer closes the connection so that the later answers are never written (issue 16, finding 8).
import type { IncomingMessage, ServerResponse } from 'node:http';

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Runs `handler` for a request only once its answer is the connection's current one: Node hands the socket
 * to the queued answers in order, each when the one before has been written. A request queued behind a
 * refusal never gets its turn — the refusal closes the connection — and is dropped unseen: never sent
 * upstream, never audited, as if the client had not sent it.
 */
export function oneAtATime(handler: RequestHandler): RequestHandler {
  return (req, res) => {
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
