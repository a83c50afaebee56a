// IP literal syntax shared by the target parser, allowlist patterns and address rules. One spelling per
// address, so that string comparison and Map lookups agree with what the dialer will connect to.

import { isIPv6 } from 'node:net';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** True for `a.b.c.d` with each part 0–255 written without leading zeros: the only IPv4 form we accept. */
export function isCanonicalIPv4(text: string): boolean {
  return DOTTED_QUAD.test(text);
}

/** The 32-bit value of a canonical dotted quad. */
export function ipv4ToNumber(text: string): number {
  return text.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

export function numberToIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

/**
 * The eight 16-bit groups of an IPv6 literal (no brackets, no zone), or undefined when it is not one.
 * A dotted-quad tail (`::ffff:1.2.3.4`) becomes the last two groups.
 */
export function ipv6Groups(text: string): number[] | undefined {
  if (text.includes('%') || !isIPv6(text)) return undefined;
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    hex = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const split = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = hex.indexOf('::');
  if (gap === -1) return split(hex);
  const head = split(hex.slice(0, gap));
  const rest = split(hex.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** RFC 5952 text: lower-case hex, no leading zeros, the first longest run of two or more zero groups as `::`. */
export function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; start++) {
    let length = 0;
    while (groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = (part: readonly number[]): string => part.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The canonical spelling of an IPv6 literal (no brackets, no zone), or undefined when it is not one. */
export function canonicalIPv6(text: string): string | undefined {
  const groups = ipv6Groups(text);
  return groups === undefined ? undefined : formatIPv6(groups);
}
