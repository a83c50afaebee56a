// The parent proxy's address (`relayProxy.url`), `http://HOST:PORT` or `https://HOST:PORT`. Credentials are separate
// settings (relayProxy.username / password) so they are never part of a URL that gets printed or logged.
// The port is required: proxies have no common default (Squid 3128, curl assumes 1080, Ruby 80).

import { formatAuthority, parseHost, parsePort } from '../policy/target.js';
import type { Parsed } from './forms.js';

export interface ParentAddress {
  readonly protocol: 'http' | 'https';
  /** Lower-case name or IP literal; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port` as it is shown in messages, the audit log and `relay-proxy get`. */
  readonly url: string;
}

export const PARENT_URL_EXPECTED = 'expected http://HOST:PORT or https://HOST:PORT, e.g. http://proxy.corp.example:3128';

const SCHEME = /^(https?):\/\//i;

function fail(problem: string): Parsed<ParentAddress> {
  return { ok: false, message: `${problem}; ${PARENT_URL_EXPECTED}` };
}

export function parseParentUrl(text: string): Parsed<ParentAddress> {
  const scheme = SCHEME.exec(text);
  if (scheme?.[1] === undefined) return fail('the scheme must be http:// or https://');
  const protocol = scheme[1].toLowerCase() === 'https' ? 'https' : 'http';
  let rest = text.slice(scheme[0].length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest.includes('@')) {
    return fail('no user or password in the URL: give them with `oms-gateway relay-proxy set URL --username NAME --password-stdin`');
  }
  if (/[/?#]/.test(rest)) return fail('no path, query or fragment');
  const colon = rest.lastIndexOf(':');
  if (colon === -1 || colon < rest.lastIndexOf(']')) return fail('the port is required');
  const host = parseHost(rest.slice(0, colon));
  if (!host.ok) return fail(`HOST: ${host.message.replace(/^target /, '')}`);
  const port = parsePort(rest.slice(colon + 1));
  if (port === undefined) return fail('PORT must be a whole number 1-65535');
  return { ok: true, value: { protocol, host: host.host, port, url: `${protocol}://${formatAuthority({ host: host.host, port, kind: host.kind })}` } };
}
