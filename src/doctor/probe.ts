// One endpoint as the gateway would reach it, step by step: name resolution (or the host mapping, or the
// relay proxy that resolves for us), the TCP connection (through the relay when one is set), the TLS
// handshake with certificate verification, and the clock against the service's `Date` header (agents fail
// onboarding with 403 when their clock is more than 15 minutes off). Each step is one line with a mark, a
// figure and, when it is not fine, a hint; a step that fails ends the endpoint's lines.

import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { isAddressDenied } from '../policy/addresses.js';
import type { Target } from '../policy/types.js';
import { parentFor } from '../proxy/parent.js';
import type { Runtime } from '../proxy/runtime.js';
import { dial, type Route } from '../proxy/upstream.js';
import type { Endpoint } from './endpoints.js';

export type Mark = 'ok' | 'warn' | 'fail' | 'skip';
export type Check = 'policy' | 'dns' | 'tcp' | 'tls' | 'clock' | 'name' | 'auth';

export interface CheckLine {
  readonly host: string;
  readonly port: number;
  readonly check: Check;
  readonly mark: Mark;
  readonly figure: string;
  readonly hint: string;
}

export interface ProbeOptions {
  readonly runtime: Runtime;
  readonly timeoutMs: number;
  /** CA certificates to trust instead of the system's (--ca adds to them); undefined: the system's. */
  readonly ca: readonly string[] | undefined;
}

/** Azure refuses agents whose clock is off by more than this (onboarding answers 403). */
const MAX_SKEW_S = 15 * 60;
const WARN_SKEW_S = 60;
const WARN_EXPIRY_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

const TLS_HINTS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate is not from a trusted CA: a TLS-inspecting firewall may be replacing it; agents pin Azure\'s CAs and will fail too (exempt these hosts from inspection)',
  SELF_SIGNED_CERT_IN_CHAIN: 'a self-signed CA signed this certificate: a TLS-inspecting firewall? exempt these hosts from inspection',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server sent a self-signed certificate: this is not the Azure service',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the issuing CA is not trusted here: a TLS-inspecting firewall, or a missing CA bundle (package ca-certificates)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is not for this name: DNS, a resolve mapping or a firewall sends this name somewhere else',
  CERT_HAS_EXPIRED: 'the certificate has expired, or this host\'s clock is far off',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet: this host\'s clock is probably behind',
};

function line(endpoint: Endpoint, check: Check, mark: Mark, figure: string, hint = ''): CheckLine {
  return { host: endpoint.host, port: endpoint.port, check, mark, figure, hint };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

/** Where the gateway would connect for this endpoint: the DNS line and the route, or a failed DNS line. */
async function route(endpoint: Endpoint, target: Target, options: ProbeOptions): Promise<{ line: CheckLine; route?: Route }> {
  const { runtime, timeoutMs } = options;
  const mapping = target.kind === 'name' ? runtime.mappings.match(target.host)[0] : undefined;
  if (mapping !== undefined) {
    const addresses = isIP(mapping.address) ? [mapping.address] : (await lookup(mapping.address, { all: true })).map((a) => a.address);
    const port = mapping.port ?? endpoint.port;
    return { line: line(endpoint, 'dns', 'ok', `mapped to ${mapping.address}:${port} (resolve ${mapping.pattern})`), route: { addresses, port, mapped: true } };
  }
  const parent = parentFor(runtime.parent, target);
  if (parent !== undefined) {
    const viaParent: Route = { addresses: [], port: endpoint.port, mapped: false, parent: { proxy: parent, target } };
    return { line: line(endpoint, 'dns', 'skip', `resolved by the relay proxy ${parent.config.url}`), route: viaParent };
  }
  if (target.kind !== 'name') {
    return { line: line(endpoint, 'dns', 'skip', 'an IP address'), route: { addresses: [target.host], port: endpoint.port, mapped: false } };
  }
  const started = performance.now();
  let addresses: string[];
  try {
    addresses = (await withTimeout(lookup(target.host, { all: true, verbatim: true }), timeoutMs, 'DNS')).map((a) => a.address);
  } catch (err) {
    return { line: line(endpoint, 'dns', 'fail', codeOf(err), 'this host cannot resolve the name: check its DNS servers (/etc/resolv.conf) and that they resolve Azure names') };
  }
  const ms = Math.round(performance.now() - started);
  const allowed = addresses.filter((address) => !isAddressDenied(runtime.policy.deniedAddresses, address));
  if (allowed.length === 0) {
    return { line: line(endpoint, 'dns', 'fail', addresses.join(', '), 'every address is in deniedAddresses, so the gateway refuses it: wrong DNS answer, or a resolve mapping is missing') };
  }
  return { line: line(endpoint, 'dns', 'ok', `${allowed.slice(0, 3).join(', ')}${allowed.length > 3 ? ', ...' : ''} in ${ms} ms`), route: { addresses: allowed, port: endpoint.port, mapped: false } };
}

function handshake(socket: Socket, target: Target, options: ProbeOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      servername: target.kind === 'name' ? target.host : undefined,
      ...(options.ca === undefined ? {} : { ca: [...options.ca] }),
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (err) => {
      tls.destroy();
      reject(err);
    });
  });
}

/** Sends HEAD / and reads the answer's Date header; resolves with local minus remote, in seconds. */
function clockSkew(tls: TLSSocket, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    let head = '';
    const sentAt = Date.now();
    tls.setEncoding('latin1');
    tls.on('data', (chunk: string) => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      const date = /^date:[ \t]*(.+?)[ \t]*$/im.exec(head.slice(0, head.indexOf('\r\n\r\n')))?.[1];
      const remote = date === undefined ? Number.NaN : Date.parse(date);
      // The remote time is truncated to the second: compare it with the middle of our second.
      const local = (sentAt + Date.now()) / 2 - 500;
      resolve(Number.isNaN(remote) ? undefined : (local - remote) / 1000);
    });
    tls.once('error', reject);
    tls.once('end', () => resolve(undefined));
    tls.write(`HEAD / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: oms-gateway-doctor\r\nConnection: close\r\n\r\n`);
  });
}

function skewLine(endpoint: Endpoint, skew: number | undefined): CheckLine {
  if (skew === undefined) return line(endpoint, 'clock', 'warn', 'no Date header in the answer', 'cannot compare clocks with this endpoint');
  const seconds = Math.round(skew);
  const figure = seconds === 0 ? 'in step with the service' : `${Math.abs(seconds)} s ${seconds > 0 ? 'ahead of' : 'behind'} the service`;
  if (Math.abs(skew) > MAX_SKEW_S) return line(endpoint, 'clock', 'fail', figure, 'more than 15 minutes off: Azure refuses such clocks (onboarding answers 403); fix NTP here and on the agents');
  if (Math.abs(skew) > WARN_SKEW_S) return line(endpoint, 'clock', 'warn', figure, 'keep clocks in step with NTP: at 15 minutes off, agents are refused');
  return line(endpoint, 'clock', 'ok', figure);
}

export async function probeEndpoint(endpoint: Endpoint, options: ProbeOptions): Promise<CheckLine[]> {
  const kind = isIP(endpoint.host);
  const target: Target = { host: endpoint.host, port: endpoint.port, kind: kind === 4 ? 'ipv4' : kind === 6 ? 'ipv6' : 'name' };
  const lines: CheckLine[] = [];
  let found: { line: CheckLine; route?: Route };
  try {
    found = await route(endpoint, target, options);
  } catch (err) {
    return [line(endpoint, 'dns', 'fail', codeOf(err), 'the mapped address cannot be resolved')];
  }
  lines.push(found.line);
  if (found.route === undefined) return lines;

  const startedTcp = performance.now();
  let socket: Socket;
  try {
    socket = await dial(found.route, options.timeoutMs);
  } catch (err) {
    const through = found.route.parent === undefined ? '' : ' (through the relay proxy)';
    lines.push(line(endpoint, 'tcp', 'fail', err instanceof Error ? err.message : String(err), `no TCP connection${through}: check the firewall between this host and Azure, and the relay proxy if one is set`));
    return lines;
  }
  const via = found.route.parent === undefined ? `connected to port ${found.route.port}` : `tunnel through ${found.route.parent.proxy.config.url}`;
  lines.push(line(endpoint, 'tcp', 'ok', `${via} in ${Math.round(performance.now() - startedTcp)} ms`));

  let tls: TLSSocket;
  try {
    tls = await withTimeout(handshake(socket, target, options), options.timeoutMs, 'TLS handshake');
  } catch (err) {
    socket.destroy();
    const code = codeOf(err);
    lines.push(line(endpoint, 'tls', 'fail', code, TLS_HINTS[code] ?? 'the TLS handshake failed: is something between this host and Azure intercepting TLS?'));
    return lines;
  }
  try {
    const certificate = tls.getPeerCertificate();
    const daysLeft = Math.floor((Date.parse(certificate.valid_to) - Date.now()) / DAY_MS);
    const figure = `${tls.getProtocol() ?? 'TLS'}, certificate for ${certificate.subject?.CN ?? '?'} valid ${daysLeft} more days`;
    lines.push(daysLeft < WARN_EXPIRY_DAYS ? line(endpoint, 'tls', 'warn', figure, 'the certificate expires soon') : line(endpoint, 'tls', 'ok', figure));
    lines.push(skewLine(endpoint, await withTimeout(clockSkew(tls, endpoint.host), options.timeoutMs, 'HTTP answer')));
  } catch (err) {
    lines.push(line(endpoint, 'clock', 'warn', codeOf(err), 'no HTTP answer to compare clocks with'));
  } finally {
    tls.destroy();
  }
  return lines;
}
