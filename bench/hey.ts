// The load generator for what an existing tool can drive: hey (Debian's package), an HTTP load generator
// whose Go client tunnels https:// through a proxy with CONNECT (-x) and opens a new connection per request
// with -disable-keepalive (tunnel set-up, bulk transfers). Through a proxy it does not keep its connections
// at high concurrency, so requests over open tunnels are bench/requests.ts's. Its summary is parsed.

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
  readonly keepAlive: boolean;
  readonly method?: 'GET' | 'POST';
  readonly bodyFile?: string;
  readonly timeoutSeconds?: number;
}

export function runHey(options: HeyOptions): Promise<HeyResult> {
  const args = ['-c', String(options.concurrency), '-t', String(options.timeoutSeconds ?? 60)];
  if (options.durationSeconds !== undefined) args.push('-z', `${options.durationSeconds}s`);
  if (options.requests !== undefined) args.push('-n', String(options.requests));
  if (!options.keepAlive) args.push('-disable-keepalive');
  if (options.proxy !== undefined) args.push('-x', options.proxy);
  if (options.method !== undefined) args.push('-m', options.method);
  if (options.bodyFile !== undefined) args.push('-D', options.bodyFile, '-T', 'application/octet-stream');
  args.push('-host', options.host, options.url);
  return new Promise((resolve, reject) => {
    execFile('hey', args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`hey ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(parseSummary(stdout));
    });
  });
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
