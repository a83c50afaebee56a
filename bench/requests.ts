// Requests over open tunnels, for what hey cannot do: through a proxy at -c 64, hey's Go client keeps
// almost none of its tunnels (8,000 CONNECTs for 8,000 requests in one 8 s run, and thousands of tunnels
// left without a TLS handshake until the proxy timed them out), so it measured tunnel set-up instead. Here
// 64 TLS sessions are opened first (the set-up is not timed), then each sends GET /hello and waits for the
// answer, either back to back (rate) or at a fixed pace per session (latency).

import type { TLSSocket } from 'node:tls';
import { closeSessions, exchange, openSessions, percentile, sleepMs, type Path } from './agents.js';
import type { HeyResult } from './hey.js';
import { TARGET_HOST } from './servers.js';

export interface RequestLoad {
  readonly sessions: number;
  readonly seconds: number;
  /** Requests per second per session; undefined: as fast as answers come. */
  readonly ratePerSession?: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * GET /hello over sessions already open for `seconds`, back to back or at `ratePerSession` a second each. A
 * session whose request fails is destroyed and sends no more: callers that drive the same sessions again
 * leave out the destroyed ones.
 */
export async function driveSessions(sessions: readonly TLSSocket[], seconds: number, ratePerSession?: number): Promise<HeyResult> {
  const request = [Buffer.from(`GET /hello HTTP/1.1\r\nHost: ${TARGET_HOST}\r\n\r\n`)];
  const times: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const interval = ratePerSession === undefined ? 0 : 1000 / ratePerSession;
  const session = async (socket: TLSSocket): Promise<void> => {
    // Paced sessions start spread over one interval, as independent clients would.
    let due = performance.now() + Math.random() * interval;
    while (performance.now() < end) {
      if (interval > 0) await sleepMs(due - performance.now());
      due += interval;
      try {
        times.push(await exchange(socket, request, REQUEST_TIMEOUT_MS));
      } catch {
        errors += 1;
        socket.destroy();
        return;
      }
    }
  };
  await Promise.all(sessions.map(session));
  const totalSeconds = (performance.now() - started) / 1000;
  const sorted = times.sort((a, b) => a - b);
  return {
    requests: times.length,
    errors,
    totalSeconds,
    requestsPerSecond: times.length / totalSeconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/** `load.sessions` sessions opened (not timed), driven for `load.seconds`, closed. */
export async function runRequests(path: Path, originPort: number, load: RequestLoad): Promise<HeyResult> {
  const sessions = await openSessions(path, originPort, load.sessions);
  try {
    return await driveSessions(sessions, load.seconds, load.ratePerSession);
  } finally {
    closeSessions(sessions);
  }
}
