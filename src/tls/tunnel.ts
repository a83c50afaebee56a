// The tunnel inspection as the CONNECT handler uses it: compiled once per runtime from the configuration,
// then one call between `200 Connection established` and the relay that inspects and closes refused
// tunnels; the exchange (proxy/exchange.ts) records the outcome.

import type { Socket } from 'node:net';
import type { InspectionFailure } from '../observability/outcomes.js';
import { TLS_VERSIONS } from './clienthello.js';
import type { InspectionConfig } from './config-types.js';
import { inspectTunnel, type InspectionOptions, type TlsFacts } from './inspect.js';
import { compileSubjects } from './subjects.js';

/** Undefined when inspection is switched off. */
export type CompiledInspection = InspectionOptions | undefined;

export function compileInspection(config: { readonly inspection: InspectionConfig; readonly allowedClientCertificates: readonly string[] }): CompiledInspection {
  const { inspection } = config;
  if (!inspection.enabled) return undefined;
  return {
    minVersion: TLS_VERSIONS[inspection.minVersion],
    missingSni: inspection.missingSni,
    timeoutMs: inspection.timeoutSeconds * 1000,
    maxHandshakeBytes: inspection.maxHandshakeBytes,
    maxHandshakeRecords: inspection.maxHandshakeRecords,
    allowedClientCertificates: compileSubjects(config.allowedClientCertificates),
    hiddenClientCertificates: inspection.hiddenClientCertificates,
  };
}

function factFields(facts: TlsFacts): Readonly<Record<string, unknown>> {
  return {
    sni: facts.serverName,
    tlsVersion: facts.offeredVersion,
    negotiatedVersion: facts.negotiatedVersion,
    clientCertificate: facts.clientCertificate,
    allowedBy: facts.allowedBy,
    resumed: facts.resumed,
    side: facts.side,
  };
}

/**
 * How the inspection ended, with what it learnt (`facts`, the record fields; none when inspection is off):
 * `relay` with the client bytes the relay must send upstream first; otherwise both sockets are destroyed,
 * `refused` for its reason or `closed` when a side went away during the handshake. The caller records it.
 */
export type TunnelCheck =
  | { readonly outcome: 'relay'; readonly head: Buffer; readonly facts: Readonly<Record<string, unknown>> | undefined }
  | { readonly outcome: 'refused'; readonly reason: InspectionFailure; readonly facts: Readonly<Record<string, unknown>> }
  | {
      readonly outcome: 'closed';
      readonly facts: Readonly<Record<string, unknown>>;
      readonly stats: { readonly bytesFromClient: number; readonly bytesToClient: number; readonly durationMs: number; readonly closedBy: 'client' | 'upstream' };
    }
  /** `mayPass` said no when the ClientHello was accepted: nothing was passed on; the caller ends the tunnel. */
  | { readonly outcome: 'held-back' };

/** Inspects the tunnel to `host`. */
export async function checkTunnel(
  inspection: CompiledInspection,
  sockets: { readonly client: Socket; readonly upstream: Socket; readonly head: Buffer },
  host: string,
  /** Asked before the first client byte goes on (see inspectTunnel); false: 'held-back'. */
  mayPass: () => boolean = () => true,
): Promise<TunnelCheck> {
  const { client, upstream, head } = sockets;
  if (inspection === undefined) return { outcome: 'relay', head, facts: undefined };
  const startedAt = performance.now();
  const result = await inspectTunnel(client, upstream, head, host, inspection, mayPass).catch((err: unknown) => {
    // The caller reports the fault; both legs close here, where both are known.
    client.destroy();
    upstream.destroy();
    throw err;
  });
  if (!result.ok && result.reason === 'held-back') return { outcome: 'held-back' };
  const facts = factFields(result.facts);
  if (result.ok && !client.destroyed && !upstream.destroyed) return { outcome: 'relay', head: result.head, facts };
  client.destroy();
  upstream.destroy();
  if (result.ok || result.reason === 'closed-early') {
    const stats = {
      bytesFromClient: upstream.bytesWritten,
      bytesToClient: upstream.bytesRead,
      durationMs: Math.round(performance.now() - startedAt),
      closedBy: result.facts.side === 'server' ? 'upstream' : 'client',
    } as const;
    return { outcome: 'closed', facts, stats };
  }
  return { outcome: 'refused', reason: result.reason, facts };
}
