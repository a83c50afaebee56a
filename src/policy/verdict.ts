// The policy's answer for one request together with what the operator could change: the single path from a
// parsed target to allow / deny / would-deny, shared by the gateway's admission (proxy/admit.ts) and
// `oms-gateway policy test`, so the command can never answer differently from the running policy.

import { decide, type CompiledPolicy } from './decide.js';
import { hintFor, type DenyHint } from './hints.js';
import type { Decision, PolicyRequest } from './types.js';

export interface Verdict {
  readonly decision: Decision;
  /** Only for a denial (also a report-mode one); undefined when nothing in the configuration would change it. */
  readonly hint: DenyHint | undefined;
}

export function verdictFor(policy: CompiledPolicy, request: PolicyRequest): Verdict {
  const decision = decide(policy, request);
  return { decision, hint: decision.allow ? undefined : hintFor(policy, request.target, decision) };
}
