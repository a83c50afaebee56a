// Host patterns of the allowlist and of `--resolve` mappings, and a matcher whose cost per lookup grows with
// the number of labels in the host, not with the number of patterns.
//
// Forms: `exact.name`; `*.suffix.name` (one or more labels before `.suffix.name`, never the suffix itself);
// `pre*post.suffix.name` with one `*` inside the leftmost label standing for one or more characters of that
// label only (Azure Arc's `azgn*.servicebus.windows.net`); IP literals (IPv6 stored without brackets).

import { isIPv6 } from 'node:net';
import type { AllowEntryConfig } from './config-types.js';
import { parseHost, parsePort } from './target.js';

export type PatternResult =
  | { readonly ok: true; readonly pattern: string }
  | { readonly ok: false; readonly message: string };
export type AllowEntryResult =
  | { readonly ok: true; readonly entry: AllowEntryConfig }
  | { readonly ok: false; readonly message: string };

const ACCEPTED = 'use "name.example.com", "*.example.com" or "name*.example.com"';

function invalid(problem: string): { ok: false; message: string } {
  return { ok: false, message: `invalid host pattern: ${problem}; ${ACCEPTED}` };
}

/** A name of at least two labels: wildcards over a bare TLD (`*.com`) would allow half the Internet. */
function suffixProblem(suffix: string): string | undefined {
  const parsed = parseHost(suffix);
  if (!parsed.ok) return parsed.message;
  if (parsed.kind !== 'name') return 'a wildcard must be followed by a host name, not an IP address';
  if (!parsed.host.includes('.')) return 'the part after the wildcard label needs at least two labels';
  return undefined;
}

/** Checks and normalises (lower case, one trailing dot removed, canonical IP) an operator's host pattern. */
export function parsePattern(text: string): PatternResult {
  // Squid's dstdomain `.example.com` means the name and every name below it; here those are two entries.
  if (/^\.[^.]/.test(text)) {
    const domain = text.slice(1).toLowerCase();
    return invalid(`"${text}" is Squid's form: write "*.${domain}" for the names below ${domain} (and "${domain}" for the name itself)`);
  }
  if (text.startsWith('[') || text.includes(':')) {
    const ip = parseHost(text.startsWith('[') ? text : `[${text}]`);
    return ip.ok ? { ok: true, pattern: ip.host } : invalid('brackets and ":" are only for IPv6 addresses');
  }
  const lower = text.toLowerCase();
  const stars = lower.split('*').length - 1;
  if (stars === 0) {
    const parsed = parseHost(lower);
    return parsed.ok ? { ok: true, pattern: parsed.host } : invalid(parsed.message);
  }
  if (stars > 1) return invalid('only one "*" is allowed');
  const dot = lower.indexOf('.');
  if (dot === -1) return invalid('a wildcard must be followed by a domain of at least two labels');
  if (lower.indexOf('*') > dot) return invalid('"*" may only appear in the leftmost label');
  const label = lower.slice(0, dot);
  const suffix = lower.slice(dot + 1);
  const problem = suffixProblem(suffix);
  if (problem !== undefined) return invalid(problem);
  const normalised = suffix.endsWith('.') ? suffix.slice(0, -1) : suffix;
  if (label === '*') return { ok: true, pattern: `*.${normalised}` };
  // The label must still be valid DNS syntax once `*` stands for at least one letter.
  const sample = parseHost(`${label.replace('*', 'x')}.${normalised}`);
  if (!sample.ok) return invalid(sample.message);
  return { ok: true, pattern: `${label}.${normalised}` };
}

/**
 * In-label patterns that share what follows their leftmost label, by the text before their `*` and then the
 * text after it. A lookup tries only the prefix and end lengths that occur (at most 63 each, the longest
 * label), so its cost does not grow with the number of patterns.
 */
interface InLabelGroup<T> {
  readonly byPrefix: Map<string, Map<string, T[]>>;
  readonly prefixLengths: Set<number>;
  readonly endLengths: Set<number>;
}

/** Values by pattern; `match` returns the most specific first: exact, in-label wildcard, longest `*.` suffix. */
export class PatternMap<T> {
  readonly #exact = new Map<string, T[]>();
  /** Keyed by what follows the leftmost label. */
  readonly #inLabel = new Map<string, InLabelGroup<T>>();
  /** Keyed by the suffix after `*.`. */
  readonly #wildcard = new Map<string, T[]>();

  /** `pattern` must come from parsePattern. */
  add(pattern: string, value: T): void {
    if (pattern.startsWith('*.')) {
      push(this.#wildcard, pattern.slice(2), value);
      return;
    }
    const star = pattern.indexOf('*');
    if (star === -1) {
      push(this.#exact, pattern, value);
      return;
    }
    const dot = pattern.indexOf('.');
    const rest = pattern.slice(dot + 1);
    const prefix = pattern.slice(0, star);
    const end = pattern.slice(star + 1, dot);
    let group = this.#inLabel.get(rest);
    if (group === undefined) {
      group = { byPrefix: new Map(), prefixLengths: new Set(), endLengths: new Set() };
      this.#inLabel.set(rest, group);
    }
    let byEnd = group.byPrefix.get(prefix);
    if (byEnd === undefined) {
      byEnd = new Map();
      group.byPrefix.set(prefix, byEnd);
    }
    push(byEnd, end, value);
    group.prefixLengths.add(prefix.length);
    group.endLengths.add(end.length);
  }

  /** `host` must be a normalised Target host. */
  match(host: string): T[] {
    const found: T[] = [...(this.#exact.get(host) ?? [])];
    const dot = host.indexOf('.');
    if (dot === -1) return found;
    const label = host.slice(0, dot);
    const group = this.#inLabel.get(host.slice(dot + 1));
    if (group !== undefined) found.push(...inLabelMatches(group, label));
    for (let at = dot; at !== -1; at = host.indexOf('.', at + 1)) {
      found.push(...(this.#wildcard.get(host.slice(at + 1)) ?? []));
    }
    return found;
  }
}

/** Values whose `prefix*end` covers `label` with at least one character for the `*`. */
function inLabelMatches<T>(group: InLabelGroup<T>, label: string): T[] {
  const found: T[] = [];
  for (const prefixLength of group.prefixLengths) {
    const byEnd = prefixLength < label.length ? group.byPrefix.get(label.slice(0, prefixLength)) : undefined;
    if (byEnd === undefined) continue;
    for (const endLength of group.endLengths) {
      if (prefixLength + endLength >= label.length) continue;
      found.push(...(byEnd.get(label.slice(label.length - endLength)) ?? []));
    }
  }
  return found;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const DEFAULT_PORTS: readonly number[] = Object.freeze([443]);

type EntryParts =
  | { readonly ok: true; readonly patternText: string; readonly portsText: string | undefined }
  | { readonly ok: false; readonly message: string };

function splitEntry(text: string): EntryParts {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    const after = close === -1 ? '' : text.slice(close + 1);
    if (close === -1 || (after !== '' && !after.startsWith(':'))) {
      return { ok: false, message: 'invalid allowlist entry: write an IPv6 address as "[2001:db8::1]:443"' };
    }
    return { ok: true, patternText: text.slice(0, close + 1), portsText: after === '' ? undefined : after.slice(1) };
  }
  const colon = text.indexOf(':');
  if (colon === -1 || isIPv6(text)) return { ok: true, patternText: text, portsText: undefined };
  if (text.indexOf(':', colon + 1) !== -1) {
    return {
      ok: false,
      message: 'invalid allowlist entry: write "pattern:port,port" with one ":" and IPv6 as "[2001:db8::1]:443"',
    };
  }
  return { ok: true, patternText: text.slice(0, colon), portsText: text.slice(colon + 1) };
}

/** The operator form `pattern[:port[,port...]]`; ports default to 443. A bracketed IPv6 literal takes a port. */
/** `https://name/path` pasted from a browser or a documentation page: the scheme says which port was meant. */
const URL_FORM = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i;
const SCHEME_PORTS: Readonly<Record<string, number>> = { https: 443, http: 80 };

function urlEntryProblem(text: string): string | undefined {
  const url = URL_FORM.exec(text);
  if (url === null) return undefined;
  const scheme = (url[1] ?? '').toLowerCase();
  const authority = url[2] ?? '';
  const port = SCHEME_PORTS[scheme];
  const suggestion = port === undefined || authority === '' || /:\d*$/.test(authority) ? authority : `${authority}:${port}`;
  const write = suggestion === '' ? 'write the host name and ports alone' : `write "${suggestion}"`;
  return `invalid allowlist entry: "${scheme}://" is a URL scheme, not part of a host pattern; ${write}`;
}

export function parseAllowEntry(text: string, source: string): AllowEntryResult {
  const urlProblem = urlEntryProblem(text);
  if (urlProblem !== undefined) return { ok: false, message: urlProblem };
  const parts = splitEntry(text);
  if (!parts.ok) return parts;
  const pattern = parsePattern(parts.patternText);
  if (!pattern.ok) return pattern;
  if (parts.portsText === undefined) {
    return { ok: true, entry: { pattern: pattern.pattern, ports: DEFAULT_PORTS, source } };
  }
  const ports = parts.portsText.split(',').map(parsePort);
  if (!ports.every((port): port is number => port !== undefined)) {
    return { ok: false, message: 'invalid allowlist entry: ports must be 1-65535, e.g. "name.example.com:443,8443"' };
  }
  const unique = [...new Set(ports)].sort((a, b) => a - b);
  return { ok: true, entry: { pattern: pattern.pattern, ports: unique, source } };
}
