// load balancer → gateway: reads the PROXY protocol header (proxy-protocol.ts) off a freshly accepted socket,
// before TLS sniffing and HTTP parsing, and decides who the client is. Only trusted source addresses may send
// a header; with `required`, every connection must come from one and carry one. The read is bounded in size
// and time, and the bytes after the header are put back on the socket for whatever reads next.

import { BlockList, type Socket } from 'node:net';
import type { ProxyProtocolConfig } from '../config/types.js';
import { isCanonicalIPv4, ipv6Groups } from '../policy/ip.js';
import { parseProxyHeader, V1_MAX_BYTES, type ProxyHeaderErrorCode } from './proxy-protocol.js';

/** Why a connection was closed before HTTP: a closed set, used as an audit reason. */
export type ProxyRefusalReason =
  | ProxyHeaderErrorCode
  | 'untrusted-header'
  | 'untrusted-source'
  | 'missing-header'
  | 'truncated'
  | 'timeout';

export type ProxyHeaderOutcome =
  | { readonly ok: true; readonly client: string; readonly clientPort: number; readonly viaHeader: boolean }
  | { readonly ok: false; readonly reason: ProxyRefusalReason }
  /** The peer closed or reset before sending anything: a probe, nothing to record. */
  | { readonly ok: false; readonly reason: 'closed' };

export interface ProxyHeaderReader {
  readonly config: ProxyProtocolConfig;
  readonly trusted: BlockList;
}

/** Compiled once per listener. `config.trusted` holds CIDRs that passed parseCidr. */
export function proxyHeaderReader(config: ProxyProtocolConfig): ProxyHeaderReader {
  const trusted = new BlockList();
  for (const cidr of config.trusted) {
    const [address = '', prefix = ''] = cidr.split('/');
    trusted.addSubnet(address, Number(prefix), isCanonicalIPv4(address) ? 'ipv4' : 'ipv6');
  }
  return { config, trusted };
}

/** A dual-stack socket reports IPv4 peers as `::ffff:a.b.c.d`; only that form is read as IPv4 (never 6to4 etc.). */
function isTrusted(reader: ProxyHeaderReader, address: string | undefined): boolean {
  if (address === undefined) return false;
  if (isCanonicalIPv4(address)) return reader.trusted.check(address, 'ipv4');
  const groups = ipv6Groups(address);
  if (groups === undefined) return false;
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  return mapped ? reader.trusted.check(toDotted(groups), 'ipv4') : reader.trusted.check(address, 'ipv6');
}

function toDotted(groups: readonly number[]): string {
  const [high = 0, low = 0] = groups.slice(6);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * Decides who the client of `socket` is. Resolves once; on `ok: false` the caller closes the socket. Bytes
 * read past the header (or all bytes, when there is none) are unshifted so the next reader sees them.
 */
export function readProxyHeader(socket: Socket, reader: ProxyHeaderReader): Promise<ProxyHeaderOutcome> {
  const peer = { client: socket.remoteAddress ?? 'unknown', clientPort: socket.remotePort ?? 0 };
  const trusted = isTrusted(reader, socket.remoteAddress);
  const { required, maxHeaderBytes, headerTimeoutSeconds } = reader.config;
  if (required && !trusted) return Promise.resolve({ ok: false, reason: 'untrusted-source' });
  const limit = Math.max(maxHeaderBytes, V1_MAX_BYTES);

  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const detach = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    const finish = (outcome: ProxyHeaderOutcome, rest?: Buffer): void => {
      detach();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(outcome);
    };
    // A 'readable' listener runs outside the promise: a fault there becomes its rejection, not an uncaught throw.
    const onReadable = (): void => {
      try {
        readAvailable();
      } catch (err) {
        detach();
        reject(err);
      }
    };
    const readAvailable = (): void => {
      // Read only what the header can still need, so a flood stays in the kernel's buffers, not ours.
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        const parsed = parseProxyHeader(received, maxHeaderBytes);
        switch (parsed.kind) {
          case 'incomplete':
            if (received.length >= limit) return finish({ ok: false, reason: 'too-long' });
            continue;
          case 'absent':
            return required ? finish({ ok: false, reason: 'missing-header' }) : finish({ ok: true, ...peer, viaHeader: false }, received);
          case 'invalid':
            return finish({ ok: false, reason: trusted ? parsed.code : 'untrusted-header' });
          case 'header': {
            if (!trusted) return finish({ ok: false, reason: 'untrusted-header' });
            const carried = parsed.header.client;
            const client = carried === undefined ? peer : { client: carried.address, clientPort: carried.port };
            return finish({ ok: true, ...client, viaHeader: carried !== undefined }, received.subarray(parsed.length));
          }
        }
      }
    };
    const onEnd = (): void => finish(received.length === 0 ? { ok: false, reason: 'closed' } : { ok: false, reason: 'truncated' });
    const onError = (): void => finish({ ok: false, reason: 'closed' });
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), headerTimeoutSeconds * 1000);
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('error', onError);
  });
}

/** A connection closed over its PROXY header, for the gateway to record (listener.ts ListenerServices). */
export interface ProxyHeaderRefusal {
  /** The connection's own peer: the header, if any, was not believed. */
  readonly client: string;
  readonly clientPort: number;
  readonly listener: string;
  readonly reason: ProxyRefusalReason;
}

/**
 * The client of a connection on a PROXY-protocol listener, or undefined when the connection was refused (it
 * is destroyed, and the refusal handed to `refused` unless the peer just closed).
 */
export async function proxiedClient(
  socket: Socket,
  reader: ProxyHeaderReader,
  refused: (refusal: ProxyHeaderRefusal) => void,
  listener: string,
): Promise<{ readonly client: string; readonly clientPort: number } | undefined> {
  const outcome = await readProxyHeader(socket, reader);
  if (outcome.ok) return { client: outcome.client, clientPort: outcome.clientPort };
  if (outcome.reason !== 'closed') {
    refused({ client: socket.remoteAddress ?? 'unknown', clientPort: socket.remotePort ?? 0, listener, reason: outcome.reason });
  }
  socket.destroy();
  return undefined;
}
