// The doctor's look at the running gateway's clients: sources that are answered 407 and never send
// credentials (oms_gateway_unanswered_auth_sources, by per-source rule). Such an agent cannot do the
// listener's authentication — typically AMA on an Arc-enabled server, which takes the Arc agent's proxy URL
// without credentials — and retries for ever; the fix is a `clients:` rule with `auth: anonymous` for its
// range, or credentials in its proxy settings. Pure: the caller scrapes the metrics.

import type { GatewayConfig } from '../config/types.js';
import { totalsBy, type Sample } from '../observability/exposition.js';
import { METRIC_PREFIX } from '../observability/metrics.js';
import type { CheckLine } from './probe.js';

const UNANSWERED = `${METRIC_PREFIX}unanswered_auth_sources`;
/** The label value for clients in no rule's range (observability/metrics.ts). */
const NO_RULE = 'default';

/** One warning per rule whose sources got 407s they never answered; none when there are none. `source`: the metrics listener. */
export function unansweredChallengeLines(samples: readonly Sample[], config: GatewayConfig, source: string): CheckLine[] {
  const lines: CheckLine[] = [];
  for (const [rule, count] of totalsBy(samples, UNANSWERED, 'client_rule')) {
    if (count <= 0) continue;
    const where = rule === NO_RULE ? 'sources in no clients: rule' : `sources of clients: rule "${rule}"`;
    const ranges = config.clients.find((r) => r.name === rule)?.from.join(', ');
    lines.push({
      host: source,
      port: 0,
      check: 'auth',
      mark: 'warn',
      figure: `${count} ${where} got 407 and never sent credentials (last 15 min)`,
      hint:
        `agents that cannot answer a 407 (AMA using the Arc agent's proxy URL) need a clients: rule with auth: anonymous for their range` +
        `${ranges === undefined ? '' : ` (today ${ranges})`}, or credentials in their proxy settings; their addresses are in the auth-failed records with reason "missing"`,
    });
  }
  return lines;
}
