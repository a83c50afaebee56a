// The load generator for every path that an existing tool can drive: hey (Debian's package), an HTTP load
// generator whose Go client tunnels https:// through a proxy with CONNECT (-x), opens a new connection per
// request with -disable-keepalive, and keeps one connection per worker otherwise. Its summary is parsed.

import { execFile } from 'node:child_process';

export interface HeyResult {
  readonly requests: number;
  readonly errors: number;
  readonly totalSeconds: number;
  readonly requestsPerSecond: number;
  /** Latency percentiles in milliseconds (hey reports 10-99 %). */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface HeyOptions {
  readonly url: string;
  /**
   * Host header, which hey also sends as the TLS server name. Without it hey sends the URL's host:port as
   * the name, which is not a host name (RFC 6066 §3) and which the gateway's tunnel inspection refuses.
   */
  readonly host: string;
  /** Proxy URL, or undefined for the direct path. */
  readonly proxy: string | undefined;
  readonly concurrency: number;
  readonly durationSeconds?: number;
  readonly requests?: number;
  /** Requests per second per worker. */
  readonly ratePerWorker?: number;
  readonly keepAlive: boolean;
  readonly method?: 'GET' | 'POST';
  readonly bodyFile?: string;
  readonly timeoutSeconds?: number;
  /**
   * Percentiles from hey's per-request CSV rather than its summary, which leaves the 99th out when fewer
   * than 100 requests completed. The CSV lists completed requests only, so `errors` counts non-200 answers.
   * Latency counts only requests over a connection that was already open (no time in DNS+dialup): what a
   * request over an open tunnel pays, not the set-up of the tunnel it opened.
   */
  readonly perRequest?: boolean;
}

export function runHey(options: HeyOptions): Promise<HeyResult> {
  const args = ['-c', String(options.concurrency), '-t', String(options.timeoutSeconds ?? 60)];
  if (options.durationSeconds !== undefined) args.push('-z', `${options.durationSeconds}s`);
  if (options.requests !== undefined) args.push('-n', String(options.requests));
  if (options.ratePerWorker !== undefined) args.push('-q', String(options.ratePerWorker));
  if (!options.keepAlive) args.push('-disable-keepalive');
  if (options.proxy !== undefined) args.push('-x', options.proxy);
  if (options.method !== undefined) args.push('-m', options.method);
  if (options.bodyFile !== undefined) args.push('-D', options.bodyFile, '-T', 'application/octet-stream');
  if (options.perRequest === true) args.push('-o', 'csv');
  args.push('-host', options.host, options.url);
  return new Promise((resolve, reject) => {
    execFile('hey', args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`hey ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(options.perRequest === true ? parseCsv(stdout) : parseSummary(stdout));
    });
  });
}

/** Rows of `response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset`. */
export function parseCsv(text: string): HeyResult {
  const rows = text.split('\n').slice(1).map((line) => line.split(',')).filter((cells) => cells.length >= 8);
  const ok = rows.filter((cells) => cells[6] === '200');
  const times = ok.filter((cells) => Number(cells[1]) === 0).map((cells) => Number(cells[0]) * 1000).sort((a, b) => a - b);
  const end = Math.max(0, ...rows.map((cells) => Number(cells[7]) + Number(cells[0])));
  const at = (p: number): number => (times.length === 0 ? Number.NaN : times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? Number.NaN);
  return {
    requests: ok.length,
    errors: rows.length - ok.length,
    totalSeconds: end,
    requestsPerSecond: end > 0 ? ok.length / end : Number.NaN,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

function seconds(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

export function parseSummary(text: string): HeyResult {
  const statusCounts = [...text.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)];
  const ok = statusCounts.filter(([, status]) => status === '200').reduce((sum, [, , count]) => sum + Number(count), 0);
  const otherStatus = statusCounts.filter(([, status]) => status !== '200').reduce((sum, [, , count]) => sum + Number(count), 0);
  const errorSection = text.split('Error distribution:')[1] ?? '';
  const transportErrors = [...errorSection.matchAll(/\[(\d+)\]/g)].reduce((sum, [, count]) => sum + Number(count), 0);
  return {
    requests: ok,
    errors: otherStatus + transportErrors,
    totalSeconds: seconds(text, /Total:\s+([\d.]+) secs/),
    requestsPerSecond: seconds(text, /Requests\/sec:\s+([\d.]+)/),
    p50Ms: seconds(text, /50% in ([\d.]+) secs/) * 1000,
    p99Ms: seconds(text, /99% in ([\d.]+) secs/) * 1000,
  };
}
