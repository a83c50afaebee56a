// Per-source rules (`clients:`): which rule a client address falls under. The most specific range wins (the
// longest prefix), so `10.0.0.0/8: basic` with `10.20.0.0/16: anonymous` gives the Arc subnet anonymous
// access and the rest of 10/8 Basic; between equally specific ranges the rule written first wins. An
// IPv4-mapped IPv6 client (`::ffff:10.20.0.5`, a dual-stack listener) is matched as its IPv4 address.

import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from './addresses.js';

interface Range {
  readonly list: BlockList;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

export class ClientRuleTable<T> {
  readonly #rules: readonly { readonly ranges: readonly Range[]; readonly value: T }[];

  /** `cidrs` must have passed parseCidr (the configuration schema checks them). */
  constructor(rules: readonly { readonly cidrs: readonly string[]; readonly value: T }[]) {
    this.#rules = rules.map(({ cidrs, value }) => ({ ranges: cidrs.map(compileRange), value }));
  }

  get size(): number {
    return this.#rules.length;
  }

  /** The value of the most specific rule whose ranges hold `address`; undefined when none does. */
  match(address: string): T | undefined {
    if (this.#rules.length === 0) return undefined;
    const mapped = MAPPED.exec(address)?.[1];
    const ip = mapped ?? address;
    const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
    let best: { prefix: number; value: T } | undefined;
    for (const rule of this.#rules) {
      for (const range of rule.ranges) {
        if (range.family !== family || (best !== undefined && range.prefix <= best.prefix)) continue;
        if (range.list.check(ip, family)) best = { prefix: range.prefix, value: rule.value };
      }
    }
    return best?.value;
  }
}

function compileRange(text: string): Range {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new TypeError(`client range ${JSON.stringify(text)}: ${parsed.message}`);
  const slash = parsed.cidr.lastIndexOf('/');
  const address = parsed.cidr.slice(0, slash);
  const prefix = Number(parsed.cidr.slice(slash + 1));
  const family = isIPv4(address) ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, prefix, family };
}
