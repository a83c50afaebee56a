// client ⇄ gateway ⇄ target, after `200 Connection established` and before the relay: a look at the TLS
// handshake inside the tunnel, never decrypting it (the Windows gateway's TlsParser: "Client SNI is verified",
// "TLS session is successfully verified"). The client's first record(s) must hold a ClientHello offering at
// least the configured version, whose server name, when present, is the CONNECT host.
//
// The look lasts until the client's plaintext handshake ends (issue 16: a second ClientHello naming another
// host used to pass unread): every ClientHello in it is judged alike, and the server's ServerHello says which
// version was chosen. With allowedClientCertificates set, up to TLS 1.2 the client's Certificate message
// crosses in the clear and its subject must be on the list; TLS 1.3 encrypts it, and the configuration says
// whether such tunnels pass. After the first ClientHello each chunk is checked before it is passed on, so a
// refused message never reaches the target.
//
// Reads are bounded (maxHandshakeBytes and maxHandshakeRecords per direction) and the whole look has one
// deadline; each direction is read once, in step with its segments (records.ts). Nothing is lost: bytes read
// but not yet passed on come back as `head` for the relay to send first.

import type { Duplex } from 'node:stream';
import type { InspectionFailure } from '../observability/outcomes.js';
import { TLS_VERSIONS, versionName } from './clienthello.js';
import { judgeCertificate, judgeClientHello, judgeHello, PASS, refuse, serverChoice, streamFailure, type Verdict } from './judge.js';
import { CONTENT_TYPE, HANDSHAKE_TYPE, HandshakeReader } from './records.js';
import type { SubjectPattern } from './subjects.js';

export type Allowance = 'allow' | 'refuse';

export interface InspectionOptions {
  /** Lowest protocol version the client must offer (TLS_VERSIONS value). */
  readonly minVersion: number;
  readonly missingSni: Allowance;
  readonly timeoutMs: number;
  /** Bytes read from each side, and the longest handshake message, before the look gives up. */
  readonly maxHandshakeBytes: number;
  /** Handshake records read from each side before the look gives up. */
  readonly maxHandshakeRecords: number;
  /** Subjects a client certificate must match; empty: certificates are not looked at. */
  readonly allowedClientCertificates: readonly SubjectPattern[];
  /** TLS 1.3 sessions when allowedClientCertificates is not empty: their certificate cannot be seen. */
  readonly hiddenClientCertificates: Allowance;
}

/** What the look saw; every field is optional because a refusal can come at any step. */
export interface TlsFacts {
  serverName?: string;
  offeredVersion?: string;
  negotiatedVersion?: string;
  /** The client certificate's subject, 'none' when the handshake carried none, 'hidden' under TLS 1.3. */
  clientCertificate?: string;
  /** The certificate's subject matched this allowedClientCertificates entry. */
  allowedBy?: string;
  /** An abbreviated TLS 1.2 handshake: the client resumed a session, sending no certificate. */
  resumed?: boolean;
  /** The side whose bytes did not parse or that closed early. */
  side?: 'client' | 'server';
}

export type Inspection =
  | { readonly ok: true; readonly head: Buffer; readonly facts: TlsFacts }
  | { readonly ok: false; readonly reason: InspectionFailure; readonly facts: TlsFacts };

const TLS13 = TLS_VERSIONS['TLSv1.3'];

/**
 * Looks at the handshake of a tunnel whose client was just told `200 Connection established`. `head` holds
 * client bytes that arrived with the CONNECT request. Both sockets are left paused with no listener of this
 * module attached; on a refusal the caller closes them.
 *
 * Phase 1 holds the client's bytes until its ClientHello is judged. Phase 2 passes both directions on, a
 * chunk at a time, each client chunk judged before it is passed: every further ClientHello (see
 * judgeClientHello) and, with allowedClientCertificates, the client's certificate. It ends when the client's
 * plaintext handshake does: at its first record that is neither handshake nor (under TLS 1.3) a
 * ChangeCipherSpec.
 */
export function inspectTunnel(
  client: Duplex,
  upstream: Duplex,
  head: Buffer,
  expectedHost: string,
  options: InspectionOptions,
  /** Asked once the first ClientHello is accepted, before any client byte goes on; false ends the look. */
  mayPass: () => boolean = () => true,
): Promise<Inspection> {
  return new Promise((resolve, reject) => {
    const facts: TlsFacts = {};
    const following = options.allowedClientCertificates.length > 0;
    const limits = { maxMessageBytes: options.maxHandshakeBytes, maxRecords: options.maxHandshakeRecords };
    const clientReader = new HandshakeReader(limits);
    const serverReader = new HandshakeReader(limits);
    // Until the server has chosen TLS 1.2 or earlier, a ChangeCipherSpec may be TLS 1.3's dummy one.
    clientReader.skipChangeCipherSpec = true;
    let phase: 'client-hello' | 'watch' = 'client-hello';
    /** Client bytes held back until the ClientHello is judged; joined once, when it is. */
    const unsent: Buffer[] = [];
    let clientReceived = 0;
    let serverReceived = 0;
    /** The version the server chose; 'none' when it will not say; undefined until it does. */
    let version: number | 'none' | undefined;
    /** Client messages looked at for a ClientHello, and for the certificate. */
    let judged = 1;
    let certificateFrom = 1;
    let certificateJudged = !following;
    let done = false;

    const stop = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      client.off('data', onClientData).off('end', onClientEnd).off('close', onClientEnd);
      upstream.off('data', onServerData).off('end', onServerEnd).off('close', onServerEnd).off('error', ignore);
      client.pause();
      upstream.pause();
      return true;
    };
    const finish = (result: Inspection): void => {
      if (stop()) resolve(result);
    };
    // 'data' listeners run outside the promise: a fault in one becomes its rejection, not an uncaught throw.
    const guarded = (read: (chunk: Buffer) => void) => (chunk: Buffer): void => {
      try {
        read(chunk);
      } catch (err) {
        if (stop()) reject(err);
      }
    };
    const refuseSide = (side: 'client' | 'server', reason: InspectionFailure): void => {
      facts.side = side;
      finish({ ok: false, reason, facts });
    };

    /** Reads client bytes; false when the look ended on them. */
    const readClient = (chunk: Buffer): boolean => {
      clientReceived += chunk.length;
      clientReader.push(chunk);
      // Only the handshake is capped: a segment that ends it may carry the first application data (an upload
      // starting at once), which is not the handshake's and may be any size.
      if (clientReader.open && clientReceived > options.maxHandshakeBytes) {
        refuseSide('client', 'handshake-too-large');
        return false;
      }
      return true;
    };

    /** Judges the client messages not looked at yet; a refusal, or undefined. */
    const judgeClientFlight = (): Verdict => {
      const failure = streamFailure(clientReader);
      if (failure !== undefined) return refuse(failure);
      const { messages } = clientReader;
      for (; judged < messages.length; judged++) {
        const message = messages[judged];
        if (message?.type !== HANDSHAKE_TYPE.clientHello) continue;
        const verdict = judgeClientHello(message, expectedHost, options, facts);
        if (!verdict.ok) return verdict;
      }
      if (certificateJudged || typeof version !== 'number' || version >= TLS13) return undefined;
      for (; certificateFrom < messages.length && !certificateJudged; certificateFrom++) {
        const message = messages[certificateFrom];
        const verdict = message === undefined ? undefined : judgeCertificate(message, options, facts);
        if (verdict === undefined) continue;
        certificateJudged = true;
        if (!verdict.ok) return verdict;
      }
      return undefined;
    };

    /** The client's plaintext handshake ended without a certificate judged (allowedClientCertificates). */
    const judgeEnd = (): Verdict => {
      if (certificateJudged) return PASS;
      if (typeof version === 'number' && version < TLS13) {
        facts.clientCertificate = 'none';
        if (clientReader.endedBy === CONTENT_TYPE.changeCipherSpec) facts.resumed = true;
        return PASS;
      }
      // TLS 1.3, or a server that never said: the certificate cannot be seen.
      facts.clientCertificate = 'hidden';
      return options.hiddenClientCertificates === 'allow' ? PASS : refuse('client-certificate-hidden');
    };

    /** Phase 2: `chunk` was read; it is passed on, or ends the look. */
    const watchClient = (chunk: Buffer): void => {
      const verdict = judgeClientFlight();
      if (verdict !== undefined && !verdict.ok) return refuseSide('client', verdict.reason);
      if (clientReader.open) {
        upstream.write(chunk);
        return;
      }
      const end = judgeEnd();
      if (end !== undefined && !end.ok) return refuseSide('client', end.reason);
      finish({ ok: true, head: chunk, facts });
    };

    const onClientData = guarded((chunk) => {
      if (phase === 'client-hello') unsent.push(chunk);
      if (!readClient(chunk)) return;
      if (phase === 'watch') return watchClient(chunk);
      const verdict = judgeHello(clientReader, expectedHost, options, facts);
      if (verdict === undefined) return;
      if (!verdict.ok) return refuseSide('client', verdict.reason);
      if (!mayPass()) return finish({ ok: false, reason: 'held-back', facts });
      phase = 'watch';
      upstream.on('data', onServerData).resume();
      watchClient(Buffer.concat(unsent));
    });

    const onServerData = guarded((chunk) => {
      serverReceived += chunk.length;
      if (serverReceived > options.maxHandshakeBytes) return refuseSide('server', 'handshake-too-large');
      if (version === undefined) {
        serverReader.push(chunk);
        const choice = serverChoice(serverReader);
        if (choice === 'none') version = 'none';
        else if (typeof choice === 'object' && 'failure' in choice) {
          // Only a followed handshake needs the server's flight; otherwise the client judges its server.
          if (following) return refuseSide('server', choice.failure);
          version = 'none';
        } else if (typeof choice === 'object') {
          version = choice.version;
          facts.negotiatedVersion = versionName(version);
          clientReader.skipChangeCipherSpec = version >= TLS13;
          if (following && version >= TLS13) {
            facts.clientCertificate = 'hidden';
            if (options.hiddenClientCertificates === 'refuse') return refuseSide('server', 'client-certificate-hidden');
            certificateJudged = true;
          }
          // The client cannot have sent its certificate before the ServerHello asked for it, but check anyway.
          const early = judgeClientFlight();
          if (early !== undefined && !early.ok) return refuseSide('client', early.reason);
        }
      }
      client.write(chunk);
    });

    const onClientEnd = (): void => {
      facts.side = 'client';
      const truncated = phase === 'client-hello' && clientReceived > 0;
      finish({ ok: false, reason: truncated ? 'malformed-handshake' : 'closed-early', facts });
    };
    const onServerEnd = (): void => {
      facts.side = 'server';
      finish({ ok: false, reason: 'closed-early', facts });
    };
    const ignore = (): void => undefined;

    const timer = setTimeout(() => finish({ ok: false, reason: 'handshake-timeout', facts }), options.timeoutMs);
    // The relay attaches its own error handlers; until then a reset of the target must not throw.
    upstream.on('error', ignore).once('end', onServerEnd).once('close', onServerEnd);
    client.once('end', onClientEnd).once('close', onClientEnd);
    if (head.length > 0) onClientData(head);
    // The CONNECT handler paused the client; a 'data' listener alone does not resume a paused stream.
    if (!done) client.on('data', onClientData).resume();
  });
}
