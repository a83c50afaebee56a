// `oms-gateway status`: a terminal summary of a running gateway from two sources: the state file beside its
// pid file (service/state-file.ts: generation, policy and auth mode, listeners, the last reload's outcome)
// and its metrics endpoint (traffic, would-deny, /readyz). Either is enough. The configuration file only
// says where they are, so a broken file — when an administrator most needs this — is reported, not fatal:
// --pid-file and --metrics-url, else what can still be read of the file, else the defaults, are used.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfigText, resolveConfigPath } from '../../config/load.js';
import type { GatewayConfig } from '../../config/types.js';
import { parseExposition } from '../../observability/exposition.js';
import { summarize } from '../../observability/summary.js';
import { isGatewayProcess, readPidFile } from '../../service/pid-file.js';
import { readStateFile } from '../../service/state-file.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { readPasswordFromStdin } from '../io.js';
import { fetchText, metricsUrlOf, type Fetched } from '../metrics-endpoint.js';
import { render, toJson, type Process, type Scraped, type Sources } from './status-view.js';

const OPTIONS = {
  config: { type: 'string' },
  'metrics-url': { type: 'string' },
  'metrics-user': { type: 'string' },
  'pid-file': { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function status(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('status', args, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`status: unexpected argument "${positionals[0]}" (see: oms-gateway status --help)`);
  const sources = findSources(values['metrics-url'], values['pid-file'], values.config);
  const ca = values.ca === undefined ? undefined : readCa(values.ca);
  const processState = sources.pidFile === undefined ? undefined : await readProcess(sources.pidFile);

  let scraped: Scraped | undefined;
  let metricsProblem = sources.metricsMissing;
  if (sources.metrics !== undefined) {
    try {
      scraped = await scrape(sources.metrics, values['metrics-user'], ca);
    } catch (err) {
      if (!(err instanceof CommandFailed)) throw err;
      metricsProblem = err.message;
    }
  }
  const stateRead = processState?.running === true && processState.state !== undefined;
  if (scraped === undefined && !stateRead) {
    // Neither source answered: say why for each one that was tried.
    const why = processState === undefined ? undefined : processState.running ? processState.stateProblem : processState.reason;
    throw new CommandFailed([metricsProblem ?? 'status: no metrics endpoint', why].filter(Boolean).join('; '));
  }
  const report = { sources, process: processState, scraped, metricsProblem };
  if (values.json === true) process.stdout.write(`${JSON.stringify(toJson(report))}\n`);
  else process.stdout.write(render(report));
  return 0;
}

/**
 * --metrics-url and --pid-file, else the configuration `start` would use. A file that does not load is
 * read for its metrics and pidFile keys alone (through the same loader), so that a typo elsewhere in it
 * does not hide the running gateway.
 */
function findSources(metricsFlag: string | undefined, pidFlag: string | undefined, configFlag: string | undefined): Sources {
  const configFile = resolveConfigPath(configFlag, process.env);
  let config: Pick<GatewayConfig, 'metrics' | 'pidFile'>;
  let configProblem: string | undefined;
  try {
    config = loadConfig({ path: configFile });
  } catch (err) {
    if (!(err instanceof ConfigError) || configFile === undefined) throw err;
    configProblem = err.message;
    config = salvage(configFile);
  }
  const pidFile = pidFlag === undefined ? config.pidFile : resolvePath(pidFlag);
  if (metricsFlag !== undefined) return { configFile, configProblem, metrics: parseMetricsUrl(metricsFlag), metricsMissing: undefined, pidFile };
  if (!config.metrics.enabled) {
    if (pidFile === undefined) throw new UsageError('status: the configuration disables metrics (metrics.enabled: false); give --metrics-url');
    return { configFile, configProblem, metrics: undefined, metricsMissing: 'metrics.enabled is false', pidFile };
  }
  return { configFile, configProblem, metrics: metricsUrlOf(config.metrics), metricsMissing: undefined, pidFile };
}

/** The metrics and pidFile keys of a file that does not load as a whole; each falls back to its default. */
function salvage(path: string): Pick<GatewayConfig, 'metrics' | 'pidFile'> {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch {
    raw = undefined;
  }
  const record = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const only = (key: string): GatewayConfig | undefined => {
    if (record[key] === undefined) return undefined;
    try {
      return parseConfigText(stringify({ [key]: record[key] }), path);
    } catch {
      return undefined;
    }
  };
  const defaults = parseConfigText('', path);
  return { metrics: (only('metrics') ?? defaults).metrics, pidFile: only('pidFile')?.pidFile };
}

function parseMetricsUrl(flag: string): URL {
  let url: URL;
  try {
    url = new URL(flag);
  } catch {
    throw new UsageError('status: --metrics-url: expected a URL such as http://127.0.0.1:9464/metrics');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('status: --metrics-url: expected an http:// or https:// URL');
  return url;
}

async function readProcess(pidFile: string): Promise<Process> {
  let pid: number | undefined;
  try {
    pid = await readPidFile(pidFile);
  } catch (err) {
    return { running: false, reason: (err as Error).message };
  }
  if (pid === undefined) return { running: false, reason: `no gateway is running with pid file ${pidFile}` };
  if (!isGatewayProcess(pid)) return { running: false, reason: `pid ${pid} of ${pidFile} is not a running gateway` };
  const read = await readStateFile(pidFile);
  if (read.ok && read.record.pid === pid) return { running: true, pid, state: read.record, stateProblem: undefined };
  const problem = read.ok ? 'its state file names another process' : read.reason === 'unreadable' ? `its state file cannot be read (${read.code ?? 'error'})` : `its state file is ${read.reason}`;
  return { running: true, pid, state: undefined, stateProblem: problem };
}

async function scrape(url: URL, user: string | undefined, ca: string | undefined): Promise<Scraped> {
  const authorization = await credentials(url, user);
  url.username = '';
  url.password = '';
  const answer = await fetchText('status', url, authorization, ca);
  if (answer.status === 401) throw new CommandFailed(`status: ${url.href} needs credentials: give --metrics-user NAME (password on standard input)`);
  if (answer.status !== 200) throw new CommandFailed(`status: ${url.href} answered HTTP ${answer.status}`);
  const summary = summarize(parseExposition(answer.body), Date.now() / 1000);
  const ready = await fetchText('status', new URL('/readyz', url), undefined, ca).then(readyState, () => 'unknown');
  return { url: url.href, ready, summary };
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

function readyState(answer: Fetched): string {
  try {
    const body = JSON.parse(answer.body) as { status?: unknown };
    return typeof body.status === 'string' ? body.status : 'unknown';
  } catch {
    return 'unknown';
  }
}
