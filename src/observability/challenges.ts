// Sources that are asked for credentials and never give any. An agent that cannot answer a 407 (AMA taking
// the Arc agent's proxy URL, which carries none) retries without credentials for ever; a client that
// answers the challenge (WinHTTP asks first, then sends Basic) authenticates right after it. So an address
// that got a 407 for missing credentials and has not authenticated since, within a window, is an agent
// pointed at a listener whose authentication it cannot do: `oms-gateway doctor` warns about them by rule.

/** How far back a challenge counts; long enough for agents that retry every few minutes. */
export const CHALLENGE_WINDOW_MS = 15 * 60 * 1000;
/** Addresses remembered at most; the oldest are forgotten first (a scan must not grow the heap). */
const MAX_TRACKED = 10_000;

interface Seen {
  readonly rule: string;
  readonly challengedAt: number;
}

export class UnansweredChallenges {
  /** Insertion-ordered: the first key is the least recently challenged. */
  readonly #bySource = new Map<string, Seen>();

  /** A 407 for missing credentials was sent to `source`, which falls under `rule` ('default': none). */
  challenged(source: string, rule: string, now = Date.now()): void {
    this.#bySource.delete(source);
    this.#bySource.set(source, { rule, challengedAt: now });
    if (this.#bySource.size > MAX_TRACKED) {
      const oldest = this.#bySource.keys().next().value;
      if (oldest !== undefined) this.#bySource.delete(oldest);
    }
  }

  /** `source` sent credentials that were accepted: it can answer a challenge. */
  authenticated(source: string): void {
    this.#bySource.delete(source);
  }

  /** Sources challenged within the window and silent since, counted by rule. */
  countByRule(now = Date.now()): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [source, seen] of this.#bySource) {
      if (now - seen.challengedAt > CHALLENGE_WINDOW_MS) {
        this.#bySource.delete(source);
        continue;
      }
      counts.set(seen.rule, (counts.get(seen.rule) ?? 0) + 1);
    }
    return counts;
  }
}
