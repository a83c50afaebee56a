// client ⇄ gateway ⇄ target, after `200 Connection established` and before the relay: a look at the TLS
// handshake inside the tunnel, never decrypting it (the Windows gateway's TlsParser: "Client SNI is verified",
// "TLS session is successfully verified"). The client's first record(s) must hold a ClientHello offering at
// least the configured version, whose server name, when present, is the CONNECT host.
//
// With allowedClientCertificates set, the handshake is followed further: the server's ServerHello says which
// version was chosen; up to TLS 1.2 the client's Certificate message crosses in the clear and its subject must
// be on the list; TLS 1.3 encrypts it, and the configuration says whether such tunnels pass. While following,
// each chunk is checked before it is passed on, so a refused certificate never reaches the target.
//
// Reads are bounded (maxHandshakeBytes and maxHandshakeRecords per direction) and the whole look has one
// deadline; each direction is read once, in step with its segments (records.ts). Nothing is lost: bytes read
// but not yet passed on come back as `head` for the relay to send first.

import { X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { CONTENT_TYPE, HANDSHAKE_TYPE, HandshakeReader, type HandshakeStream } from './records.js';
import { TLS_VERSIONS, firstCertificate, highestVersion, parseClientHello, serverHelloVersion, versionName } from './clienthello.js';
import { findMatch, subjectOf, type SubjectPattern } from './subjects.js';

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

/** Why a tunnel was closed: a closed set, used as the audit reason. */
export type InspectionFailure =
  /** Parse errors (Windows event 402). */
  | 'not-tls'
  | 'not-client-hello'
  | 'malformed-handshake'
  | 'bad-certificate'
  | 'handshake-too-large'
  | 'too-many-records'
  | 'handshake-timeout'
  /** Version refusals (Windows event 106). */
  | 'version-too-low'
  | 'client-certificate-hidden'
  /** Policy refusals (Windows event 105). */
  | 'sni-mismatch'
  | 'sni-missing'
  | 'client-certificate-refused'
  /** A side closed before the look was done: not a refusal. */
  | 'closed-early';

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

type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: InspectionFailure } | undefined;

const PASS: Verdict = { ok: true };
const TLS13 = TLS_VERSIONS['TLSv1.3'];

function refuse(reason: InspectionFailure): Verdict {
  return { ok: false, reason };
}

/** Names compare without regard to case or one trailing dot (RFC 6066 §3 sends none; clients sometimes do). */
function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

function streamFailure(stream: HandshakeStream): InspectionFailure | undefined {
  if (stream.error === undefined) return undefined;
  if (stream.error === 'not-tls' || stream.error === 'too-many-records') return stream.error;
  return stream.error === 'too-large' ? 'handshake-too-large' : 'malformed-handshake';
}

/** Phase 1: the ClientHello. */
function judgeHello(stream: HandshakeStream, expectedHost: string, options: InspectionOptions, facts: TlsFacts): Verdict {
  const failure = streamFailure(stream);
  if (failure !== undefined) return refuse(failure);
  const first = stream.messages[0];
  if (first === undefined) return stream.endedBy === undefined ? undefined : refuse('not-client-hello');
  if (first.type !== HANDSHAKE_TYPE.clientHello) return refuse('not-client-hello');
  const parsed = parseClientHello(first.body);
  if (!parsed.ok) return refuse(parsed.error === 'bad-server-name' ? 'sni-mismatch' : 'malformed-handshake');
  const { hello } = parsed;
  const highest = highestVersion(hello);
  if (highest !== undefined) facts.offeredVersion = versionName(highest);
  if (hello.serverName !== undefined) facts.serverName = hello.serverName;
  if (highest === undefined || highest < options.minVersion) return refuse('version-too-low');
  if (hello.serverName === undefined) return options.missingSni === 'refuse' ? refuse('sni-missing') : PASS;
  return sameHost(hello.serverName, expectedHost) ? PASS : refuse('sni-mismatch');
}

/**
 * Phase 3, TLS 1.2 and earlier: the client's second flight, up to its ChangeCipherSpec. `from` is the first
 * message not looked at yet (the caller keeps it, so each message is looked at once).
 */
function judgeCertificate(stream: HandshakeStream, from: number, options: InspectionOptions, facts: TlsFacts): Verdict {
  const failure = streamFailure(stream);
  if (failure !== undefined) return refuse(failure);
  for (const message of stream.messages.slice(Math.max(from, 1))) {
    if (message.type === HANDSHAKE_TYPE.clientKeyExchange) {
      facts.clientCertificate = 'none';
      return PASS;
    }
    if (message.type !== HANDSHAKE_TYPE.certificate) continue;
    const certificate = firstCertificate(message.body);
    if (!certificate.ok) return refuse('malformed-handshake');
    if (certificate.der === undefined) {
      facts.clientCertificate = 'none';
      return PASS;
    }
    let subject;
    try {
      subject = subjectOf(new X509Certificate(certificate.der));
    } catch {
      return refuse('bad-certificate');
    }
    facts.clientCertificate = subject.text;
    const match = findMatch(options.allowedClientCertificates, subject);
    if (match === undefined) return refuse('client-certificate-refused');
    facts.allowedBy = match.text;
    return PASS;
  }
  if (stream.endedBy === undefined) return undefined;
  facts.clientCertificate = 'none';
  if (stream.endedBy === CONTENT_TYPE.changeCipherSpec) facts.resumed = true;
  return PASS;
}

/** Phase 2: the version the server chose; 'tls12' when the client's certificate can be read next. */
function judgeServerHello(stream: HandshakeStream, options: InspectionOptions, facts: TlsFacts): Verdict | 'tls12' {
  const failure = streamFailure(stream);
  if (failure !== undefined) return refuse(failure === 'not-tls' ? 'malformed-handshake' : failure);
  const first = stream.messages[0];
  // An alert before any ServerHello: the server refused the handshake, and the session ends without us.
  if (first === undefined) return stream.endedBy === undefined ? undefined : PASS;
  const version = first.type === HANDSHAKE_TYPE.serverHello ? serverHelloVersion(first.body) : undefined;
  if (version === undefined) return refuse('malformed-handshake');
  facts.negotiatedVersion = versionName(version);
  if (version < TLS13) return 'tls12';
  facts.clientCertificate = 'hidden';
  return options.hiddenClientCertificates === 'allow' ? PASS : refuse('client-certificate-hidden');
}

/**
 * Looks at the handshake of a tunnel whose client was just told `200 Connection established`. `head` holds
 * client bytes that arrived with the CONNECT request. Both sockets are left paused with no listener of this
 * module attached; on a refusal the caller closes them.
 */
export function inspectTunnel(client: Duplex, upstream: Duplex, head: Buffer, expectedHost: string, options: InspectionOptions): Promise<Inspection> {
  return new Promise((resolve, reject) => {
    const facts: TlsFacts = {};
    const following = options.allowedClientCertificates.length > 0;
    const limits = { maxMessageBytes: options.maxHandshakeBytes, maxRecords: options.maxHandshakeRecords };
    const clientReader = new HandshakeReader(limits);
    const serverReader = new HandshakeReader(limits);
    let phase: 'client-hello' | 'server-hello' | 'client-certificate' = 'client-hello';
    /** Client bytes held back until the ClientHello is judged; joined once, when it is. */
    const unsent: Buffer[] = [];
    let clientReceived = 0;
    let serverReceived = 0;
    /** Client messages judgeCertificate has looked at. */
    let judged = 0;
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
    const conclude = (verdict: Exclude<Verdict, undefined>, head: Buffer): void => {
      finish(verdict.ok ? { ok: true, head, facts } : { ok: false, reason: verdict.reason, facts });
    };
    const refuseSide = (side: 'client' | 'server', reason: InspectionFailure): void => {
      facts.side = side;
      conclude({ ok: false, reason }, Buffer.alloc(0));
    };
    const judgeClientCertificate = (): Verdict => {
      const verdict = judgeCertificate(clientReader, judged, options, facts);
      judged = clientReader.messages.length;
      return verdict;
    };

    /** Reads client bytes; false when the look ended on them. */
    const readClient = (chunk: Buffer): boolean => {
      clientReceived += chunk.length;
      if (clientReceived > options.maxHandshakeBytes) {
        refuseSide('client', 'handshake-too-large');
        return false;
      }
      clientReader.push(chunk);
      return true;
    };

    const onClientData = guarded((chunk) => {
      if (phase === 'client-hello') {
        unsent.push(chunk);
        if (readClient(chunk)) evaluateHello();
        return;
      }
      if (phase === 'client-certificate') {
        if (!readClient(chunk)) return;
        const verdict = judgeClientCertificate();
        if (verdict !== undefined && !verdict.ok) return refuseSide('client', verdict.reason);
        upstream.write(chunk);
        if (verdict !== undefined) conclude(verdict, Buffer.alloc(0));
        return;
      }
      upstream.write(chunk);
    });

    const evaluateHello = (): void => {
      const verdict = judgeHello(clientReader, expectedHost, options, facts);
      if (verdict === undefined) return;
      const held = Buffer.concat(unsent);
      if (!verdict.ok) return refuseSide('client', verdict.reason);
      if (!following) return conclude(verdict, held);
      phase = 'server-hello';
      upstream.write(held);
      upstream.on('data', onServerData).resume();
    };

    const onServerData = guarded((chunk) => {
      serverReceived += chunk.length;
      if (serverReceived > options.maxHandshakeBytes) return refuseSide('server', 'handshake-too-large');
      if (phase !== 'server-hello') {
        client.write(chunk);
        return;
      }
      serverReader.push(chunk);
      const verdict = judgeServerHello(serverReader, options, facts);
      if (verdict === undefined) {
        client.write(chunk);
        return;
      }
      if (verdict !== 'tls12') {
        if (!verdict.ok) return refuseSide('server', verdict.reason);
        client.write(chunk);
        conclude(verdict, Buffer.alloc(0));
        return;
      }
      client.write(chunk);
      phase = 'client-certificate';
      // The client cannot have sent its certificate before the ServerHello asked for it, but check anyway.
      const early = judgeClientCertificate();
      if (early !== undefined) conclude(early, Buffer.alloc(0));
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
