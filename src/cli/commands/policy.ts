// `oms-gateway policy test HOST[:PORT]`: would the gateway let this request through? The configuration is
// loaded as `start` loads it (same file, same flags), the policy compiled as the gateway compiles it
// (buildRuntime), and the answer comes from policy/verdict.ts, the function the gateway's admission calls:
// the command cannot drift from the running policy. Exit status 0 allowed, 1 denied (also a denial that
// report mode relays as would-deny), 2 bad usage or bad configuration.
import { isIP } from 'node:net';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import type { GatewayConfig } from '../../config/types.js';
import { checkResolvedAddress } from '../../policy/decide.js';
import { addressHint, type DenyHint } from '../../policy/hints.js';
import { formatAuthority, parseAbsoluteUrl, parseAuthority } from '../../policy/target.js';
import type { Decision, Target } from '../../policy/types.js';
import { verdictFor } from '../../policy/verdict.js';
import { parentFor } from '../../proxy/parent.js';
import { buildRuntime, sourceRule, type Runtime, type SourceRule } from '../../proxy/runtime.js';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { overridesFrom, START_OPTIONS } from './start.js';

const OPTIONS = {
  ...START_OPTIONS,
  method: { type: 'string' },
  user: { type: 'string' },
  from: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Method = 'CONNECT' | 'GET';
export type Outcome = 'allowed' | 'denied' | 'would-deny' | 'auth-required';

export interface PolicyAnswer {
  readonly method: Method;
  readonly target: Target;
  readonly mode: GatewayConfig['policy']['mode'];
  readonly outcome: Outcome;
  /** The deny reason (policy/types.ts DenyReason), or 'unknown-user' for auth-required. */
  readonly reason: string | undefined;
  /** The matching allowlist pattern: the one that allows, or on deny the most specific match. */
  readonly entry: string | undefined;
  /** Where that entry comes from: preset:<agent>:<cloud>, operator (allowedHosts) or flag (--allow-host). */
  readonly sources: readonly string[];
  readonly hint: DenyHint | undefined;
  /** What happens after the policy: host mapping, the address check after DNS, Basic auth. */
  readonly notes: readonly string[];
}

/** The target as the gateway's parser reads it: a CONNECT authority (port 443 when none), or a GET URL's host. */
function targetOf(text: string, method: Method): Target {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme !== null) {
    const hint = (scheme[1] ?? '').toLowerCase() === 'http' ? ' with --method GET' : '';
    throw new UsageError(`policy test: give HOST[:PORT] without "${scheme[0]}", e.g. ${text.slice(scheme[0].length).split(/[/?#]/)[0] ?? ''}${hint}`);
  }
  const parsed = method === 'GET' ? parseAbsoluteUrl(`http://${text}/`) : parseAuthority(text, 443);
  if (!parsed.ok) throw new UsageError(`policy test: "${text}": ${parsed.message} (the gateway answers such a request 400)`);
  return parsed.target;
}

function sourcesOf(allowlist: GatewayConfig['policy']['allowlist'], entry: string | undefined, port: number | undefined): string[] {
  const entries = allowlist.filter((e) => e.pattern === entry && (port === undefined || e.ports.includes(port)));
  return [...new Set(entries.map((e) => e.source))];
}

function notesFor(runtime: Runtime, target: Target, decision: Decision, source: SourceRule): string[] {
  const { config } = runtime;
  const notes: string[] = [];
  if (source.name !== undefined) notes.push(`the clients: rule "${source.name}" applies to this source: its authentication (${source.auth.mode}) and allowlist decide`);
  if (source.auth.mode === 'basic') notes.push('auth.mode is basic: a request without valid credentials is answered 407 before the policy is asked');
  if (!decision.allow && !decision.reportOnly) return notes;
  // The route as proxy/upstream.ts takes it: a host mapping first, then the relay proxy, then DNS.
  const mapping = target.kind === 'name' ? runtime.mappings.match(target.host)[0] : undefined;
  const parent = parentFor(runtime.parent, target);
  if (mapping !== undefined) notes.push(`connects to ${mapping.address}${mapping.port === undefined ? '' : `:${mapping.port}`} (resolve: ${mapping.pattern})`);
  else if (parent !== undefined) notes.push(`goes through the relay proxy ${parent.config.url}${target.kind === 'name' ? ', which resolves the name' : ''}`);
  else if (target.kind === 'name' && config.policy.deniedAddresses.length > 0) {
    notes.push('the addresses the name resolves to are checked against deniedAddresses when the gateway connects (not resolved here)');
  }
  return notes;
}

/** The gateway's answer for one request, from the same functions its admission and its dialer call. */
export function answer(runtime: Runtime, method: Method, target: Target, user: string | undefined, client: string): PolicyAnswer {
  const { config } = runtime;
  // The source's per-source rule (clients:) chooses the authentication and the allowlist, as at admission.
  const source = sourceRule(runtime, client);
  const { policy } = source;
  const base = { method, target, mode: policy.mode };
  if (source.auth.mode === 'basic' && user !== undefined && !config.auth.users.some((u) => u.name === user)) {
    const notes = [`no user "${user}" in auth.users: the gateway answers 407 whatever the target (add the user with 'oms-gateway user add')`];
    return { ...base, outcome: 'auth-required', reason: 'unknown-user', entry: undefined, sources: [], hint: undefined, notes };
  }
  const verdict = verdictFor(policy, { target, client, user });
  let { decision } = verdict;
  let { hint } = verdict;
  // An IP literal is dialled as it is, and the dialer holds it to the address rules (proxy/upstream.ts).
  if ((decision.allow || decision.reportOnly) && target.kind !== 'name') {
    const refused = checkResolvedAddress(policy, target.host, decision.entry);
    if (refused !== undefined) {
      decision = refused;
      hint = addressHint();
    }
  }
  const outcome: Outcome = decision.allow ? 'allowed' : decision.reportOnly ? 'would-deny' : 'denied';
  return {
    ...base,
    outcome,
    reason: decision.allow ? undefined : decision.reason,
    entry: decision.entry,
    sources: sourcesOf(config.clients.find((rule) => rule.name === source.name)?.allowlist ?? config.policy.allowlist, decision.entry, decision.allow ? target.port : undefined),
    hint,
    notes: notesFor(runtime, target, decision, source),
  };
}


const HEADLINES: Readonly<Record<Outcome, string>> = {
  allowed: 'allowed',
  denied: 'denied (403)',
  'would-deny': 'would be denied: relayed only because policy.mode is report (NOT ENFORCING), logged as would-deny',
  'auth-required': 'refused before the policy (407)',
};

function describe(a: PolicyAnswer): string {
  const lines = [`${a.method} ${formatAuthority(a.target)}: ${HEADLINES[a.outcome]}`];
  if (a.reason !== undefined) lines.push(`  reason:  ${a.reason}`);
  if (a.entry !== undefined) lines.push(`  entry:   ${a.entry}${a.sources.length > 0 ? ` (${a.sources.join(', ')})` : ''}`);
  if (a.hint !== undefined) lines.push(`  hint:    ${a.hint.text}`);
  if (a.hint?.command !== undefined) lines.push(`  fix:     ${a.hint.command}`);
  for (const note of a.notes) lines.push(`  note:    ${note}`);
  return `${lines.join('\n')}\n`;
}

function test(args: readonly string[]): number {
  const { values, positionals } = parse('policy test', args, OPTIONS);
  const [text, ...extra] = positionals;
  if (text === undefined || extra.length > 0) throw new UsageError('policy test: give one HOST[:PORT], e.g. abc.ods.opinsights.azure.com:443');
  const method = (values.method ?? 'CONNECT').toUpperCase();
  if (method !== 'CONNECT' && method !== 'GET') throw new UsageError(`policy test: --method: expected CONNECT or GET, not "${values.method ?? ''}"`);
  if (values.from !== undefined && isIP(values.from) === 0) throw new UsageError(`policy test: --from: expected an IP address, not "${values.from}"`);
  const target = targetOf(text, method);
  const config = loadConfig({ path: resolveConfigPath(values.config, process.env), overrides: overridesFrom(values) });
  const result = answer(buildRuntime(config), method, target, values.user, values.from ?? '127.0.0.1');
  process.stdout.write(values.json === true ? `${JSON.stringify({ ...result, allow: result.outcome === 'allowed' })}\n` : describe(result));
  return result.outcome === 'allowed' ? 0 : 1;
}

export async function policy(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'test') return test(rest);
  throw new UsageError('policy: expected test (see: oms-gateway policy --help)');
}
