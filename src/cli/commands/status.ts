// `oms-gateway status`: a terminal summary of a running gateway, read from its metrics endpoint (the
// configuration's metrics listener unless --metrics-url names another one) and its /readyz answer.
import { readFileSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isIPv6 } from 'node:net';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import type { MetricsConfig } from '../../config/types.js';
import { parseExposition } from '../../observability/exposition.js';
import { formatBytes, formatDuration, summarize, type StatusSummary } from '../../observability/summary.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { printTable, readPasswordFromStdin } from '../io.js';

const OPTIONS = {
  config: { type: 'string' },
  'metrics-url': { type: 'string' },
  'metrics-user': { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const TIMEOUT_MS = 5000;
/** A scrape of a busy gateway is a few hundred KiB; anything far larger is not a metrics endpoint. */
const MAX_BODY = 16 * 1024 * 1024;

interface Fetched {
  readonly status: number;
  readonly body: string;
}

export async function status(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('status', args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`status: unexpected argument "${positionals[0]}" (see: oms-gateway status --help)`);
  const url = metricsUrl(values['metrics-url'], values.config);
  const authorization = await credentials(url, values['metrics-user']);
  url.username = '';
  url.password = '';
  const ca = values.ca === undefined ? undefined : readCa(values.ca);

  const scrape = await fetchText(url, authorization, ca);
  if (scrape.status === 401) throw new CommandFailed(`status: ${url.href} needs credentials: give --metrics-user NAME (password on standard input)`);
  if (scrape.status !== 200) throw new CommandFailed(`status: ${url.href} answered HTTP ${scrape.status}`);
  const summary = summarize(parseExposition(scrape.body), Date.now() / 1000);
  const ready = await fetchText(new URL('/readyz', url), undefined, ca).then(readyState, () => 'unknown');

  if (values.json === true) process.stdout.write(`${JSON.stringify({ url: url.href, state: ready, ...summary })}\n`);
  else process.stdout.write(render(url.href, ready, summary));
  return 0;
}

/** --metrics-url, else the metrics listener of the configuration `start` would use. */
function metricsUrl(flag: string | undefined, configFlag: string | undefined): URL {
  if (flag !== undefined) {
    let url: URL;
    try {
      url = new URL(flag);
    } catch {
      throw new UsageError('status: --metrics-url: expected a URL such as http://127.0.0.1:9464/metrics');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('status: --metrics-url: expected an http:// or https:// URL');
    return url;
  }
  const config = loadConfig({ path: resolveConfigPath(configFlag, process.env) });
  if (!config.metrics.enabled) throw new UsageError('status: the configuration disables metrics (metrics.enabled: false); give --metrics-url');
  return fromConfig(config.metrics);
}

function fromConfig(metrics: MetricsConfig): URL {
  const { host, port } = metrics.listen;
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const authority = isIPv6(local) ? `[${local}]:${port}` : `${local}:${port}`;
  return new URL(`${metrics.tls === undefined ? 'http' : 'https'}://${authority}${metrics.path}`);
}

/** Basic credentials from --metrics-user (password on standard input) or from the URL's user information. */
async function credentials(url: URL, user: string | undefined): Promise<string | undefined> {
  if (user !== undefined) {
    const password = await readPasswordFromStdin();
    return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  }
  if (url.username === '') return undefined;
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`status: --ca: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function fetchText(url: URL, authorization: string | undefined, ca: string | undefined): Promise<Fetched> {
  const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization };
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, timeout: TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) req.destroy(new Error('the answer is too large for a metrics endpoint'));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(new CommandFailed(`status: cannot read ${url.href}: ${err.code ?? err.message}; is the gateway running?`));
    });
  });
}

function readyState(answer: Fetched): string {
  try {
    const body = JSON.parse(answer.body) as { status?: unknown };
    return typeof body.status === 'string' ? body.status : 'unknown';
  } catch {
    return 'unknown';
  }
}

function render(url: string, state: string, s: StatusSummary): string {
  const list = (pairs: readonly (readonly [string, number])[]): string => pairs.map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const outcomes = (o: StatusSummary['tunnels']): string => `${o.relayed} relayed, ${o.refused} refused, ${o.failed} failed`;
  const rows: [string, string][] = [
    ['state', state],
    ['uptime', s.uptimeSeconds === undefined ? 'unknown' : formatDuration(s.uptimeSeconds)],
    ['connected clients', `${s.connectedClients} (${s.activeConnections} connections)`],
    ['active tunnels', String(s.activeTunnels)],
    ['tunnels', outcomes(s.tunnels)],
    ['requests', outcomes(s.requests)],
    ['bytes', `${formatBytes(s.bytesFromClients)} from clients, ${formatBytes(s.bytesToClients)} to clients`],
    ['errors', String(s.errors)],
    ['top rejections', list(s.topRejections)],
    ['upstream errors', list(s.upstreamErrors)],
    ['configuration', s.lastReloadSuccessful ? 'last load ok' : 'last reload FAILED (old configuration in force)'],
  ];
  return `oms-gateway ${s.version ?? '(unknown version)'} at ${url}\n${printTable(rows.map(([k, v]) => [`  ${k}`, v]))}\n`;
}
