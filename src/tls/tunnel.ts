// The tunnel inspection as the CONNECT handler uses it: compiled once per runtime from the configuration,
// then one call between `200 Connection established` and the relay that inspects, writes the audit record
// (Windows events 107 verified, 106 version refused, 402 parse error, 105 refused) and closes refused tunnels.

import type { Socket } from 'node:net';
import { audit, type Logger } from '../observability/logger.js';
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

const VERSION_REFUSALS = new Set<InspectionFailure>(['version-too-low', 'client-certificate-hidden']);
const POLICY_REFUSALS = new Set<InspectionFailure>(['sni-mismatch', 'sni-missing', 'client-certificate-refused']);

function factFields(facts: TlsFacts): Record<string, unknown> {
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
 * How the inspection ended: `relay` with the client bytes the relay must send upstream first; otherwise the
 * tunnel is closed (both sockets destroyed, the record written), `refused` for its reason or `closed` when
 * a side went away during the handshake.
 */
export type TunnelCheck =
  | { readonly outcome: 'relay'; readonly head: Buffer }
  | { readonly outcome: 'refused'; readonly reason: InspectionFailure }
  | { readonly outcome: 'closed' }
  /** `mayPass` said no when the ClientHello was accepted: nothing was passed on; the caller ends the tunnel. */
  | { readonly outcome: 'held-back' };

/** Inspects the tunnel. `fields` are the tunnel's audit fields (client, user, target, entry). */
export async function checkTunnel(
  logger: Logger,
  inspection: CompiledInspection,
  sockets: { readonly client: Socket; readonly upstream: Socket; readonly head: Buffer },
  host: string,
  fields: Readonly<Record<string, unknown>>,
  /** Asked before the first client byte goes on (see inspectTunnel); false: 'held-back'. */
  mayPass: () => boolean = () => true,
): Promise<TunnelCheck> {
  const { client, upstream, head } = sockets;
  if (inspection === undefined) return { outcome: 'relay', head };
  const startedAt = performance.now();
  const result = await inspectTunnel(client, upstream, head, host, inspection, mayPass).catch((err: unknown) => {
    // The caller reports the fault; both legs close here, where both are known.
    client.destroy();
    upstream.destroy();
    throw err;
  });
  if (!result.ok && result.reason === 'held-back') return { outcome: 'held-back' };
  const record = { ...fields, ...factFields(result.facts) };
  if (result.ok && !client.destroyed && !upstream.destroyed) {
    audit(logger, 'info', 'tls-verified', { ...record, decision: 'allow' });
    return { outcome: 'relay', head: result.head };
  }
  client.destroy();
  upstream.destroy();
  if (result.ok || result.reason === 'closed-early') {
    audit(logger, 'info', 'tunnel-closed', {
      ...record,
      bytesFromClient: upstream.bytesWritten,
      bytesToClient: upstream.bytesRead,
      durationMs: Math.round(performance.now() - startedAt),
      closedBy: result.facts.side === 'server' ? 'upstream' : 'client',
      reason: 'closed-during-handshake',
    });
    return { outcome: 'closed' };
  }
  const event = VERSION_REFUSALS.has(result.reason) ? 'tls-version-refused' : POLICY_REFUSALS.has(result.reason) ? 'request-denied' : 'tls-parse-error';
  audit(logger, 'warn', event, { ...record, decision: 'deny', reason: result.reason });
  return { outcome: 'refused', reason: result.reason };
}
