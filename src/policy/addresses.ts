// Address rules applied after resolution: the CIDRs a connection must never reach. An IPv6 address that
// carries an IPv4 address inside it is also judged as that IPv4 address, so `::ffff:169.254.169.254`,
// `64:ff9b::a9fe:a9fe`, `64:ff9b:1::a9fe:a9fe` or `2002:a9fe:a9fe::` cannot walk around an IPv4 rule.

import { BlockList } from 'node:net';
import { formatIPv6, ipv4ToNumber, ipv6Groups, isCanonicalIPv4, numberToIPv4 } from './ip.js';

export interface AddressRules {
  readonly blockList: BlockList;
}

interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export type CidrResult =
  | { readonly ok: true; readonly cidr: string }
  | { readonly ok: false; readonly message: string };

const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

function ipv6Network(groups: readonly number[], prefix: number): number[] {
  return groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, prefix - 16 * i));
    return group & ((0xffff << (16 - bits)) & 0xffff);
  });
}

function toCidr(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  if (prefixText !== undefined && !PREFIX.test(prefixText)) return 'the prefix length must be a decimal number';

  if (isCanonicalIPv4(addressText)) {
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (prefix > 32) return 'an IPv4 prefix length is at most 32';
    const value = ipv4ToNumber(addressText);
    const network = prefix === 0 ? 0 : (value & (~0 << (32 - prefix))) >>> 0;
    if (network !== value) return `host bits are set; use "${numberToIPv4(network)}/${prefix}"`;
    return { address: addressText, prefix, family: 'ipv4' };
  }
  const groups = ipv6Groups(addressText);
  if (groups === undefined) return 'not an IPv4 (a.b.c.d) or IPv6 address';
  const prefix = prefixText === undefined ? 128 : Number(prefixText);
  if (prefix > 128) return 'an IPv6 prefix length is at most 128';
  const network = ipv6Network(groups, prefix);
  if (network.some((group, i) => group !== groups[i])) {
    return `host bits are set; use "${formatIPv6(network)}/${prefix}"`;
  }
  return { address: formatIPv6(groups), prefix, family: 'ipv6' };
}

/** Checks an address range `a.b.c.d/n` or `ipv6/n` (a bare address means one host) and returns it normalised. */
export function parseCidr(text: string): CidrResult {
  const cidr = toCidr(text);
  if (typeof cidr === 'string') return { ok: false, message: `invalid address range: ${cidr}` };
  return { ok: true, cidr: `${cidr.address}/${cidr.prefix}` };
}

/** Builds the rules once at start-up; `cidrs` must have passed parseCidr. */
export function compileAddressRules(cidrs: readonly string[]): AddressRules {
  const blockList = new BlockList();
  for (const text of cidrs) {
    const cidr = toCidr(text);
    if (typeof cidr === 'string') throw new TypeError(`address rule ${JSON.stringify(text)}: ${cidr}`);
    blockList.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return { blockList };
}

function isZero(groups: readonly number[], from: number, to: number): boolean {
  return groups.slice(from, to).every((group) => group === 0);
}

function fromGroups(high: number | undefined, low: number | undefined): string {
  return numberToIPv4((((high ?? 0) << 16) | (low ?? 0)) >>> 0);
}

/**
 * The IPv4 address an IPv4-embedded IPv6 address (RFC 6052 §2.2) carries behind a NAT64 prefix of
 * `prefixLength` (48 or 96 here): the 32 bits after the prefix, skipping bits 64-71 (the "u" octet).
 */
function rfc6052IPv4(groups: readonly number[], prefixLength: number): string {
  const bitAt = (i: number): number => ((groups[i >> 4] ?? 0) >> (15 - (i & 15))) & 1;
  let value = 0;
  for (let i = prefixLength, taken = 0; taken < 32; i++) {
    if (i >= 64 && i < 72) continue;
    value = value * 2 + bitAt(i);
    taken++;
  }
  return numberToIPv4(value);
}

/**
 * The layouts of the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) in use: 64:ff9b:1::/96 (IPv4 in the
 * last 32 bits, what DNS64 deployments commonly synthesise) and the /48 itself (RFC 6052 §2.2: bits 48-63 and
 * 72-87). Which one a network uses is not visible from the address, so both readings are judged. An address
 * of one layout reads 0.0.0.0 under the other (those bits are empty there); that reading is not a
 * destination and is left out, or every address of either layout would fall in 0.0.0.0/8.
 */
const LOCAL_USE_NAT64_LAYOUTS = [96, 48];

/**
 * Every IPv4 address an IPv6 address may stand for or route to, most likely first; empty when it carries
 * none (see LOCAL_USE_NAT64_LAYOUTS for the one prefix with two readings).
 */
export function embeddedIPv4s(groups: readonly number[]): readonly string[] {
  const [g0, g1, g2, , g4, g5, g6, g7] = groups;
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (SIIT, RFC 6052 §2.1)
  if (isZero(groups, 0, 4) && ((g4 === 0 && (g5 === 0 || g5 === 0xffff)) || (g4 === 0xffff && g5 === 0))) {
    return [fromGroups(g6, g7)];
  }
  // 64:ff9b::a.b.c.d, the well-known NAT64 prefix (RFC 6052)
  if (g0 === 0x64 && g1 === 0xff9b && isZero(groups, 2, 6)) return [fromGroups(g6, g7)];
  // 64:ff9b:1::/48, the local-use NAT64 prefix (RFC 8215)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) {
    const readings = LOCAL_USE_NAT64_LAYOUTS.map((length) => rfc6052IPv4(groups, length)).filter((ipv4) => ipv4 !== '0.0.0.0');
    return readings.length === 0 ? ['0.0.0.0'] : readings;
  }
  // 2002:aabb:ccdd::/48, 6to4 (RFC 3056)
  if (g0 === 0x2002) return [fromGroups(g1, g2)];
  // 2001:0::/32, Teredo (RFC 4380): the client's address, bit-inverted, in the last 32 bits
  if (g0 === 0x2001 && g1 === 0) return [fromGroups(~(g6 ?? 0) & 0xffff, ~(g7 ?? 0) & 0xffff)];
  return [];
}

/** The most likely IPv4 address an IPv6 address stands for (embeddedIPv4s), if it has one. */
export function embeddedIPv4(groups: readonly number[]): string | undefined {
  return embeddedIPv4s(groups)[0];
}

/** True when `ip` falls in a denied range, directly or through an embedded IPv4 address. Non-addresses are denied. */
export function isAddressDenied(rules: AddressRules, ip: string): boolean {
  if (isCanonicalIPv4(ip)) return rules.blockList.check(ip, 'ipv4');
  const zone = ip.indexOf('%');
  const groups = ipv6Groups(zone === -1 ? ip : ip.slice(0, zone));
  if (groups === undefined) return true;
  if (rules.blockList.check(formatIPv6(groups), 'ipv6')) return true;
  return embeddedIPv4s(groups).some((ipv4) => rules.blockList.check(ipv4, 'ipv4'));
}
