// load balancer (HAProxy send-proxy[-v2]) → gateway: the PROXY protocol header that carries the real client
// address in front of the proxied bytes. Pure parsing of HAProxy's specification ("The PROXY protocol",
// versions 1 and 2): strict, bounded, and never reading past the bytes it was given.
//   v1: "PROXY TCP4|TCP6|UNKNOWN <src> <dst> <sport> <dport>\r\n", at most 107 bytes.
//   v2: 12-byte signature, version/command, family/protocol, 16-bit length, addresses, TLVs (ignored).

import { isIPv6 } from 'node:net';
import { canonicalIPv6, isCanonicalIPv4 } from '../policy/ip.js';

export const V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX: Buffer = Buffer.from('PROXY ', 'latin1');
/** The v1 line's maximum, CRLF included (specification §2.1). */
export const V1_MAX_BYTES = 107;
const V2_FIXED_BYTES = 16;
/** Address block sizes of v2 (specification §2.2). */
const V2_INET_BYTES = 12;
const V2_INET6_BYTES = 36;
const V2_UNIX_BYTES = 216;
const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

/** Why a header was refused: a closed set, used as an audit reason. */
export type ProxyHeaderErrorCode =
  | 'too-long'
  | 'bad-v1-line'
  | 'bad-version'
  | 'bad-command'
  | 'unsupported-family'
  | 'short-address-block'
  | 'bad-address'
  | 'bad-port';

export interface ClientAddress {
  readonly address: string;
  readonly port: number;
}

export interface ProxyHeader {
  readonly version: 1 | 2;
  /**
   * The client the load balancer relayed; undefined when the header carries none (v2 LOCAL such as a health
   * check, v1 UNKNOWN, v2 UNSPEC or UNIX): the connection's own peer then stands for the client.
   */
  readonly client: ClientAddress | undefined;
}

export type ProxyParse =
  /** The bytes so far are a prefix of a header: read more. */
  | { readonly kind: 'incomplete' }
  /** The bytes cannot start a header: the connection carries none. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly code: ProxyHeaderErrorCode }
  /** `length` bytes were the header; what follows belongs to the proxied connection. */
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly length: number };

const INCOMPLETE: ProxyParse = { kind: 'incomplete' };

function invalid(code: ProxyHeaderErrorCode): ProxyParse {
  return { kind: 'invalid', code };
}

/** True when the first `min(buf.length, prefix.length)` bytes agree. */
function agreesWith(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parsePortText(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseV1(buf: Buffer): ProxyParse {
  const window = buf.subarray(0, V1_MAX_BYTES);
  const newline = window.indexOf(0x0a);
  if (newline === -1) return buf.length >= V1_MAX_BYTES ? invalid('too-long') : INCOMPLETE;
  if (newline === 0 || window[newline - 1] !== 0x0d) return invalid('bad-v1-line');
  const line = window.subarray(0, newline - 1).toString('latin1');
  if (/[^\x20-\x7e]/.test(line)) return invalid('bad-v1-line');
  const fields = line.split(' ');
  const length = newline + 1;
  // "UNKNOWN": the sender could not tell; the rest of the line is to be ignored (§2.1).
  if (fields[1] === 'UNKNOWN') return { kind: 'header', header: { version: 1, client: undefined }, length };
  if (fields.length !== 6) return invalid('bad-v1-line');
  const [, family, source = '', destination = '', sourcePort = '', destinationPort = ''] = fields;
  let address: string | undefined;
  if (family === 'TCP4') {
    address = isCanonicalIPv4(source) && isCanonicalIPv4(destination) ? source : undefined;
  } else if (family === 'TCP6') {
    address = isIPv6(destination) && !destination.includes('%') ? canonicalIPv6(source) : undefined;
  } else {
    return invalid('unsupported-family');
  }
  if (address === undefined) return invalid('bad-address');
  const port = parsePortText(sourcePort);
  if (port === undefined || parsePortText(destinationPort) === undefined) return invalid('bad-port');
  return { kind: 'header', header: { version: 1, client: { address, port } }, length };
}

function ipv6At(buf: Buffer, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(offset + 2 * i).toString(16));
  return canonicalIPv6(groups.join(':')) ?? '::';
}

function parseV2(buf: Buffer, maxBytes: number): ProxyParse {
  if (buf.length < V2_FIXED_BYTES) return INCOMPLETE;
  const versionCommand = buf.readUInt8(12);
  if (versionCommand >> 4 !== 2) return invalid('bad-version');
  const command = versionCommand & 0x0f;
  if (command > 1) return invalid('bad-command');
  const familyProtocol = buf.readUInt8(13);
  const blockLength = buf.readUInt16BE(14);
  const length = V2_FIXED_BYTES + blockLength;
  if (length > maxBytes) return invalid('too-long');
  if (buf.length < length) return INCOMPLETE;
  // LOCAL: the balancer's own connection (health checks); its addresses are to be ignored (§2.2).
  if (command === 0) return { kind: 'header', header: { version: 2, client: undefined }, length };
  const family = familyProtocol >> 4;
  const protocol = familyProtocol & 0x0f;
  if (family > 3 || protocol > 2) return invalid('unsupported-family');
  if (family === 0) return { kind: 'header', header: { version: 2, client: undefined }, length };
  // A datagram source cannot have opened this stream.
  if (protocol !== 1) return invalid('unsupported-family');
  const needed = family === 1 ? V2_INET_BYTES : family === 2 ? V2_INET6_BYTES : V2_UNIX_BYTES;
  if (blockLength < needed) return invalid('short-address-block');
  if (family === 3) return { kind: 'header', header: { version: 2, client: undefined }, length };
  const at = V2_FIXED_BYTES;
  const client =
    family === 1
      ? { address: [0, 1, 2, 3].map((i) => buf.readUInt8(at + i)).join('.'), port: buf.readUInt16BE(at + 8) }
      : { address: ipv6At(buf, at), port: buf.readUInt16BE(at + 32) };
  return { kind: 'header', header: { version: 2, client }, length };
}

/**
 * Reads a PROXY header at the start of `buf` (the first bytes of a connection, possibly not all of them yet).
 * `maxBytes` bounds a v2 header with its TLVs; a v1 line is bounded by the specification's 107 bytes.
 */
export function parseProxyHeader(buf: Buffer, maxBytes: number): ProxyParse {
  if (buf.length === 0) return INCOMPLETE;
  if (agreesWith(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(buf, maxBytes);
  if (agreesWith(buf, V1_PREFIX)) return buf.length < V1_PREFIX.length ? INCOMPLETE : parseV1(buf);
  return { kind: 'absent' };
}
