// The one parser for request targets: a CONNECT authority or the host of an absolute URI becomes a Target
// here, and nothing downstream looks at the raw text again. Anything the dialer could read differently from
// the policy (userinfo, brackets, percent-encoding, numeric IPv4 spellings) is refused rather than repaired.
// Messages are fixed strings: they never echo the client's bytes.

import { isIPv6 } from 'node:net';
import { canonicalIPv6, isCanonicalIPv4 } from './ip.js';
import type { Target, TargetError, TargetErrorCode, TargetResult } from './types.js';

export type HostResult =
  | { readonly ok: true; readonly host: string; readonly kind: Target['kind'] }
  | TargetError;

export type AbsoluteUrlResult =
  | { readonly ok: true; readonly target: Target; readonly path: string }
  | TargetError;

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_NAME_LENGTH = 253;
/** WHATWG URL and inet_aton read a name ending in a number as IPv4 (`127.1`, `0x7f.1`, `2130706433`). */
const NUMERIC_LAST_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;
const PORT = /^[1-9][0-9]{0,4}$/;
const HTTP_SCHEME = /^http:\/\//i;
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function fail(code: TargetErrorCode, message: string): TargetError {
  return { ok: false, code, message };
}

/** A decimal port 1–65535 without sign or leading zeros, or undefined. */
export function parsePort(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/**
 * The first character no host or port may contain. `@` and the full-width `＠` (U+FF20, which NFKC folds
 * into `@`) are named as userinfo: Tinyproxy dialled the part after `＠` (curl#23613).
 */
function badCharacter(text: string): TargetError | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x40 || c === 0xff20) return fail('userinfo', 'userinfo (@) is not allowed in a host');
    if (c <= 0x20 || c === 0x7f) return fail('bad-characters', 'whitespace or control characters in host');
    if (c === 0x25) return fail('percent-encoding', 'percent-encoding is not allowed in a host');
    if (c > 0x7f) return fail('non-ascii', 'non-ASCII characters in host; IDNs must be punycode (xn--)');
  }
  return undefined;
}

/** Host syntax after the character check: a bracketed IPv6 literal, a canonical IPv4 dotted quad or a DNS name. */
function hostOf(text: string): HostResult {
  if (text === '') return fail('empty', 'host is empty');
  if (text.startsWith('[')) {
    const ipv6 = text.endsWith(']') ? canonicalIPv6(text.slice(1, -1)) : undefined;
    if (ipv6 === undefined) return fail('bad-brackets', 'only an IPv6 address may stand in brackets');
    return { ok: true, host: ipv6, kind: 'ipv6' };
  }
  if (text.includes('[') || text.includes(']')) return fail('bad-brackets', 'unbalanced brackets in host');
  if (text.includes(':')) {
    return isIPv6(text)
      ? fail('bad-brackets', 'an IPv6 address must be written in brackets')
      : fail('bad-name', 'host contains a colon');
  }
  const lower = text.toLowerCase();
  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  const labels = name.split('.');
  if (NUMERIC_LAST_LABEL.test(labels[labels.length - 1] ?? '')) {
    if (isCanonicalIPv4(name)) return { ok: true, host: name, kind: 'ipv4' };
    return fail('bad-name', 'numeric host is not a dotted-quad IPv4 address (a.b.c.d, no leading zeros)');
  }
  if (name.length > MAX_NAME_LENGTH) return fail('bad-name', 'host name is longer than 253 characters');
  if (!labels.every((label) => DNS_LABEL.test(label))) {
    return fail('bad-name', 'host name is not valid DNS syntax (labels of 1-63 a-z, 0-9, - not at either end)');
  }
  return { ok: true, host: name, kind: 'name' };
}

/** A host without port: `name`, `a.b.c.d` or `[ipv6]`, normalised as in parseAuthority. */
export function parseHost(text: string): HostResult {
  return badCharacter(text) ?? hostOf(text);
}

type HostPort =
  | { readonly ok: true; readonly hostText: string; readonly portText: string | undefined }
  | TargetError;

function splitHostPort(authority: string): HostPort {
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return fail('bad-brackets', 'unbalanced brackets in host');
    const after = authority.slice(close + 1);
    if (after === '') return { ok: true, hostText: authority, portText: undefined };
    if (!after.startsWith(':') || after.includes('[') || after.includes(']')) {
      return fail('bad-brackets', 'unexpected text after the bracketed address');
    }
    return { ok: true, hostText: authority.slice(0, close + 1), portText: after.slice(1) };
  }
  if (authority.includes('[') || authority.includes(']')) {
    return fail('bad-brackets', 'unbalanced brackets in host');
  }
  const colon = authority.indexOf(':');
  if (colon === -1) return { ok: true, hostText: authority, portText: undefined };
  const lastColon = authority.lastIndexOf(':');
  if (lastColon !== colon) {
    return isIPv6(authority) || isIPv6(authority.slice(0, lastColon))
      ? fail('bad-brackets', 'an IPv6 address must be written in brackets')
      : fail('bad-port', 'target has more than one port separator');
  }
  return { ok: true, hostText: authority.slice(0, colon), portText: authority.slice(colon + 1) };
}

/**
 * `host:port` as in a CONNECT request line or an absolute URI's authority. The port is required unless
 * `defaultPort` is given. Names are lower-cased and lose one trailing dot; IPv6 literals lose their brackets.
 */
export function parseAuthority(authority: string, defaultPort?: number): TargetResult {
  if (authority === '') return fail('empty', 'target is empty');
  const bad = badCharacter(authority);
  if (bad !== undefined) return bad;
  const split = splitHostPort(authority);
  if (!split.ok) return split;
  const host = hostOf(split.hostText);
  if (!host.ok) return host;
  const port = split.portText === undefined ? defaultPort : parsePort(split.portText);
  if (port === undefined) {
    return split.portText === undefined
      ? fail('missing-port', 'target has no port')
      : fail('bad-port', 'port must be a decimal number 1-65535 without leading zeros');
  }
  return { ok: true, target: { host: host.host, port, kind: host.kind } };
}

/**
 * A target back as text, the inverse of parseAuthority: `host:port`, an IPv6 literal in brackets (RFC 3986
 * §3.2.2), as a CONNECT request line, the audit records and the deny hints carry it. With `defaultPort`, a
 * target on that port is written without it (a Host field for http:// on port 80, RFC 9110 §7.2).
 */
export function formatAuthority(target: Target, defaultPort?: number): string {
  const host = target.kind === 'ipv6' ? `[${target.host}]` : target.host;
  return target.port === defaultPort ? host : `${host}:${target.port}`;
}

/**
 * An absolute-form request target (RFC 9112 §3.2.2) of a plain-HTTP proxy request:
 * `http://authority[/path][?query]`. `path` is the raw path and query to send upstream, starting with '/'.
 */
export function parseAbsoluteUrl(url: string): AbsoluteUrlResult {
  if (!HTTP_SCHEME.test(url)) {
    if (/^https:/i.test(url)) return fail('bad-uri', 'https URLs are not proxied as requests; use CONNECT');
    if (ANY_SCHEME.test(url)) return fail('bad-uri', 'only http:// URLs can be proxied');
    return fail('bad-uri', 'request target is not an absolute http:// URL');
  }
  const afterScheme = url.slice('http://'.length);
  if (afterScheme.includes('#')) return fail('bad-uri', 'a request target must not carry a fragment');
  const pathStart = afterScheme.search(/[/?]/);
  const authority = pathStart === -1 ? afterScheme : afterScheme.slice(0, pathStart);
  const rawPath = pathStart === -1 ? '' : afterScheme.slice(pathStart);

  const parsed = parseAuthority(authority, 80);
  if (!parsed.ok) return parsed;
  const badPath = pathCharacter(rawPath);
  if (badPath !== undefined) return badPath;
  return { ok: true, target: parsed.target, path: rawPath.startsWith('/') ? rawPath : `/${rawPath}` };
}

/** The path goes upstream verbatim in a request line, so it may hold only visible ASCII. */
function pathCharacter(path: string): TargetError | undefined {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) {
      return fail('bad-characters', 'request path contains whitespace or control characters');
    }
    if (c > 0x7f) return fail('non-ascii', 'request path contains non-ASCII characters');
  }
  return undefined;
}
