// Optionally, whether the gateway itself reaches the AMA control service (`/ping` answers `Healthy`), by the
// route its tunnels take: host mappings, DNS cache, address rules and the parent proxy. An upstream
// outage (a firewall change, a broken parent proxy) then shows on /readyz and in a gauge before agents pile
// up behind it. One request at a time, at a fixed interval: the probe never adds load to a struggling upstream.

import { request } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import type { GatewayConfig, UpstreamProbeConfig } from '../config/types.js';
import { parseAuthority } from '../policy/target.js';
import { ProxyError } from '../proxy/errors.js';
import { buildRuntime, type Runtime } from '../proxy/runtime.js';
import { dial, findRoute } from '../proxy/upstream.js';

/** Why a probe failed: a closed set, used as a metric label. */
export type ProbeFailure = 'dns-failure' | 'address-denied' | 'connect-failed' | 'tls-failed' | 'bad-status' | 'unexpected-body' | 'timeout';

export interface UpstreamState {
  readonly url: string;
  /** undefined until the first probe has finished. */
  readonly ok: boolean | undefined;
  readonly consecutiveFailures: number;
  /** True once `failuresBeforeUnready` probes in a row failed (never when that is 0). */
  readonly unready: boolean;
  readonly lastCheckedAt: string | undefined;
  readonly failure: ProbeFailure | undefined;
  /** HTTP status of the last answer, when there was one. */
  readonly status: number | undefined;
  readonly seconds: number | undefined;
}

export type ProbeResult =
  | { readonly ok: true; readonly status: number; readonly seconds: number }
  | { readonly ok: false; readonly failure: ProbeFailure; readonly status?: number; readonly seconds: number };

export interface ProbeObserver {
  upstreamProbed(url: string, result: ProbeResult): void;
}

/** The body read at most: `Healthy` is seven bytes; a larger answer is not the control service's. */
const MAX_BODY = 4096;

function failureOf(err: unknown): ProbeFailure {
  if (err instanceof ProxyError) {
    if (err.code === 'dns-failure') return 'dns-failure';
    if (err.code === 'connect-timeout') return 'timeout';
    return 'connect-failed';
  }
  return 'connect-failed';
}

/** One GET of `config.url` through the gateway's route, within `config.timeoutSeconds` in all. */
export async function probeOnce(runtime: Runtime, config: UpstreamProbeConfig): Promise<ProbeResult> {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const url = new URL(config.url);
  const parsed = parseAuthority(url.host, 443);
  if (!parsed.ok) return { ok: false, failure: 'dns-failure', seconds: seconds() };
  const timeoutMs = config.timeoutSeconds * 1000;
  const deadline = AbortSignal.timeout(timeoutMs);
  let socket;
  try {
    const found = await findRoute(runtime, parsed.target, undefined, { dnsLookup: () => {}, dnsCacheHit: () => {} });
    if (!found.ok) return { ok: false, failure: 'address-denied', seconds: seconds() };
    socket = await dial(found.route, timeoutMs);
  } catch (err) {
    return { ok: false, failure: failureOf(err), seconds: seconds() };
  }
  if (deadline.aborted) {
    socket.destroy();
    return { ok: false, failure: 'timeout', seconds: seconds() };
  }
  const servername = parsed.target.kind === 'name' ? parsed.target.host : undefined;
  const secure = tlsConnect({ socket, servername, ca: config.ca === undefined ? undefined : [config.ca], ALPNProtocols: ['http/1.1'] });
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onAbort);
      secure.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish({ ok: false, failure: 'timeout', seconds: seconds() });
    deadline.addEventListener('abort', onAbort);
    let handshaken = false;
    secure.once('secureConnect', () => { handshaken = true; });
    const req = request({
      createConnection: () => secure,
      host: url.hostname,
      path: `${url.pathname}${url.search}`,
      headers: { host: url.host, 'user-agent': 'oms-gateway upstream probe', connection: 'close' },
    });
    req.on('error', () => finish({ ok: false, failure: handshaken ? 'connect-failed' : 'tls-failed', seconds: seconds() }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        body += text;
        if (body.length > MAX_BODY) finish({ ok: false, failure: 'unexpected-body', status, seconds: seconds() });
      });
      res.on('error', () => finish({ ok: false, failure: 'connect-failed', status, seconds: seconds() }));
      res.on('end', () => {
        if (status !== 200) finish({ ok: false, failure: 'bad-status', status, seconds: seconds() });
        else if (!body.includes(config.expect)) finish({ ok: false, failure: 'unexpected-body', status, seconds: seconds() });
        else finish({ ok: true, status, seconds: seconds() });
      });
    });
    req.end();
  });
}

/**
 * Probes every `intervalSeconds` while enabled, with the configuration the gateway runs (`current()`, read
 * before each probe, so a reload applies from the next one).
 */
export class UpstreamProbe {
  readonly #current: () => GatewayConfig;
  readonly #observer: ProbeObserver;
  #runtime: Runtime | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #state: UpstreamState | undefined;

  constructor(current: () => GatewayConfig, observer: ProbeObserver) {
    this.#current = current;
    this.#observer = observer;
  }

  /** The last outcome; undefined while the probe is switched off. */
  state(): UpstreamState | undefined {
    return this.#current().upstreamProbe.enabled ? this.#state : undefined;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
    // A probe never holds the process open during shutdown.
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const config = this.#current();
    const probe = config.upstreamProbe;
    if (!probe.enabled) {
      this.#state = undefined;
      this.#schedule(probe.intervalSeconds * 1000);
      return;
    }
    if (this.#runtime?.config !== config) this.#runtime = buildRuntime(config, this.#runtime);
    const result = await probeOnce(this.#runtime, probe);
    const previous = this.#state?.url === probe.url ? this.#state : undefined;
    const consecutiveFailures = result.ok ? 0 : (previous?.consecutiveFailures ?? 0) + 1;
    this.#state = {
      url: probe.url,
      ok: result.ok,
      consecutiveFailures,
      unready: probe.failuresBeforeUnready > 0 && consecutiveFailures >= probe.failuresBeforeUnready,
      lastCheckedAt: new Date().toISOString(),
      failure: result.ok ? undefined : result.failure,
      status: result.status,
      seconds: result.seconds,
    };
    this.#observer.upstreamProbed(probe.url, result);
    this.#schedule(probe.intervalSeconds * 1000);
  }
}
