// Reading a running gateway's metrics listener from the command line (`status`, `doctor`): where it is, as
// the configuration says, and one bounded GET of it.
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isIPv6 } from 'node:net';
import type { MetricsConfig } from '../config/types.js';
import { CommandFailed } from './errors.js';

const TIMEOUT_MS = 5000;
/** A scrape of a busy gateway is a few hundred KiB; anything far larger is not a metrics endpoint. */
const MAX_BODY = 16 * 1024 * 1024;

export interface Fetched {
  readonly status: number;
  readonly body: string;
}

/** The metrics URL a local client reaches (a wildcard listen address becomes loopback). */
export function metricsUrlOf(metrics: MetricsConfig): URL {
  const { host, port } = metrics.listen;
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const authority = isIPv6(local) ? `[${local}]:${port}` : `${local}:${port}`;
  return new URL(`${metrics.tls === undefined ? 'http' : 'https'}://${authority}${metrics.path}`);
}

/** GET `url`; rejects with CommandFailed naming `command` when nothing answers (no gateway running there). */
export function fetchText(command: string, url: URL, authorization: string | undefined, ca: string | undefined): Promise<Fetched> {
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
      reject(new CommandFailed(`${command}: cannot read ${url.href}: ${err.code ?? err.message}; is the gateway running?`));
    });
  });
}
