// `oms-gateway doctor [--workspace ID]`: from this host, for every allowlisted endpoint of the configured
// clouds: DNS, TCP, TLS (certificate verified) and the clock against the service, through the relay proxy
// when one is set. A table with a mark, the figure and a hint per line; exit status 1 when anything fails.
// `--resolve` and `--ca` point it at local origins (tests, or a Private Link endpoint before go-live).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { parseWorkspaceId } from '../../config/forms.js';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import { endpointsOf, type Endpoint } from '../../doctor/endpoints.js';
import { probeEndpoint, type CheckLine, type Mark } from '../../doctor/probe.js';
import { parseAuthority, parseHost } from '../../policy/target.js';
import { verdictFor } from '../../policy/verdict.js';
import { buildRuntime, type Runtime } from '../../proxy/runtime.js';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { printTable } from '../io.js';
import { fetchText, metricsUrlOf, type Fetched } from '../metrics-endpoint.js';
import { unansweredChallengeLines } from '../../doctor/sources.js';
import { parseExposition } from '../../observability/exposition.js';
import type { GatewayConfig } from '../../config/types.js';

const OPTIONS = {
  config: { type: 'string' },
  workspace: { type: 'string' },
  resolve: { type: 'string', multiple: true },
  host: { type: 'string', multiple: true },
  ca: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const MARKS: Readonly<Record<Mark, string>> = { ok: '✓', warn: '!', fail: '✗', skip: '-' };
const DEFAULT_TIMEOUT_S = 5;
/** Endpoints tested at once: enough to finish quickly, few enough not to look like a scan. */
const PARALLEL = 4;

function extraHosts(texts: readonly string[]): Endpoint[] {
  return texts.map((text) => {
    const parsed = parseAuthority(text, 443);
    if (!parsed.ok) throw new UsageError(`doctor: --host "${text}": ${parsed.message}`);
    return { entry: '--host', host: parsed.target.host, port: parsed.target.port };
  });
}

/**
 * What the gateway's policy says about an endpoint (policy/verdict.ts, as for a request): a refused name
 * fails here whatever the network says; an allowed one gets a line only when --host asked for it.
 */
function policyLine(runtime: Runtime, endpoint: Endpoint): CheckLine | undefined {
  const host = parseHost(endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host);
  if (!host.ok) return undefined;
  const target = { host: host.host, port: endpoint.port, kind: host.kind };
  const { decision, hint } = verdictFor(runtime.policy, { target, client: '127.0.0.1', user: undefined });
  const at = { host: endpoint.host, port: endpoint.port, check: 'policy' } as const;
  if (decision.allow) return endpoint.entry === '--host' ? { ...at, mark: 'ok', figure: `allowed by ${decision.entry}`, hint: '' } : undefined;
  const fix = hint?.command === undefined ? '' : ` (${hint.command})`;
  if (decision.reportOnly) return { ...at, mark: 'warn', figure: `would deny: ${decision.reason}`, hint: `relayed only in report mode: ${hint?.text ?? ''}${fix}` };
  return { ...at, mark: 'fail', figure: `denied: ${decision.reason}`, hint: `the gateway refuses this name (403): ${hint?.text ?? ''}${fix}` };
}

async function inBatches<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let at = 0; at < items.length; at += size) results.push(...(await Promise.all(items.slice(at, at + size).map(run))));
  return results;
}

interface ClientCheck {
  /** Warnings, one per rule whose sources got 407s they never answered; none when all is well. */
  readonly lines: readonly CheckLine[];
  /** Whether the running gateway's metrics were read, and from where; why not when they were not. */
  readonly checked: boolean;
  readonly url: string | undefined;
  readonly reason?: string;
}

/**
 * What the running gateway has seen of its clients (its metrics listener, as the configuration names it):
 * sources asked for credentials that never send any. Nothing to read without a running gateway.
 */
async function clientCheck(config: GatewayConfig): Promise<ClientCheck> {
  if (!config.metrics.enabled) return { lines: [], checked: false, url: undefined, reason: 'metrics.enabled is false' };
  const url = metricsUrlOf(config.metrics);
  let answer: Fetched;
  try {
    answer = await fetchText('doctor', url, undefined, config.metrics.tls === undefined ? undefined : readFileSync(config.metrics.tls.cert, 'utf8'));
  } catch (err) {
    return { lines: [], checked: false, url: url.href, reason: err instanceof Error ? err.message : String(err) };
  }
  if (answer.status !== 200) return { lines: [], checked: false, url: url.href, reason: `HTTP ${answer.status} (oms-gateway status --metrics-user NAME reads them with credentials)` };
  return { lines: unansweredChallengeLines(parseExposition(answer.body), config, url.host), checked: true, url: url.href };
}

export async function doctor(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('doctor', args, OPTIONS);
  if (positionals.length > 0) throw new UsageError('doctor: unexpected argument (see: oms-gateway doctor --help)');
  const workspace = values.workspace === undefined ? undefined : parseWorkspaceId(values.workspace);
  if (workspace?.ok === false) throw new UsageError(`doctor: --workspace: ${workspace.message}`);
  const timeoutS = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!(timeoutS > 0 && timeoutS <= 120)) throw new UsageError('doctor: --timeout: expected seconds greater than 0 and at most 120');
  let ca: string[] | undefined;
  if (values.ca !== undefined) {
    try {
      ca = [...rootCertificates, await readFile(values.ca, 'utf8')];
    } catch (err) {
      throw new UsageError(`doctor: --ca: cannot read ${values.ca} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const config = loadConfig({ path: resolveConfigPath(values.config, process.env), overrides: { resolve: values.resolve } });
  const runtime = buildRuntime(config);
  const { endpoints, untestable } = endpointsOf(config, workspace?.ok === true ? workspace.value : undefined, extraHosts(values.host ?? []));
  const probed = await inBatches(endpoints, PARALLEL, async (endpoint) => {
    const verdict = policyLine(runtime, endpoint);
    const probes = await probeEndpoint(endpoint, { runtime, timeoutMs: timeoutS * 1000, ca });
    return verdict === undefined ? probes : [verdict, ...probes];
  });
  const clients = await clientCheck(config);
  const lines: CheckLine[] = [
    ...probed.flat(),
    ...clients.lines,
    ...untestable.map((u): CheckLine => ({ host: u.entry, port: u.port, check: 'name', mark: 'skip', figure: 'not tested', hint: u.hint })),
  ];
  const failed = lines.filter((l) => l.mark === 'fail').length;
  const warned = lines.filter((l) => l.mark === 'warn').length;
  if (values.json === true) {
    const { lines: _warnings, ...clientsRead } = clients;
    process.stdout.write(`${JSON.stringify({ ok: failed === 0, failed, warnings: warned, lines, clients: clientsRead })}\n`);
  } else {
    const rows = lines.map((l) => [MARKS[l.mark], `${l.host}:${l.port}`, l.check, l.figure, l.hint]);
    process.stdout.write(`${printTable([['', 'ENDPOINT', 'CHECK', 'RESULT', 'HINT'], ...rows])}\n`);
    process.stdout.write(
      clients.checked
        ? `sources asked for credentials: read from the running gateway at ${clients.url ?? ''}\n`
        : `sources asked for credentials: not checked (${clients.reason ?? 'no gateway'})\n`,
    );
    process.stdout.write(`${lines.length} checks: ${failed} failed, ${warned} warnings${config.relayProxy === undefined ? '' : `, through the relay proxy ${config.relayProxy.url}`}\n`);
  }
  return failed === 0 ? 0 : 1;
}
