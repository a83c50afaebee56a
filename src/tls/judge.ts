// The judgements of the tunnel inspection (inspect.ts) on single handshake messages and streams: pure, no
// sockets, never a throw. A verdict is a pass, a refusal with its reason, or undefined (read more first).

import { X509Certificate } from 'node:crypto';
import { firstCertificate, highestVersion, parseClientHello, serverHelloVersion, versionName } from './clienthello.js';
import type { InspectionFailure } from '../observability/outcomes.js';
import type { InspectionOptions, TlsFacts } from './inspect.js';
import { HANDSHAKE_TYPE, type HandshakeMessage, type HandshakeStream } from './records.js';
import { findMatch, subjectOf } from './subjects.js';

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: InspectionFailure } | undefined;

export const PASS: Verdict = { ok: true };

export function refuse(reason: InspectionFailure): Verdict {
  return { ok: false, reason };
}

/** Names compare without regard to case or one trailing dot (RFC 6066 §3 sends none; clients sometimes do). */
function sameHost(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');
}

export function streamFailure(stream: HandshakeStream): InspectionFailure | undefined {
  if (stream.error === undefined) return undefined;
  if (stream.error === 'not-tls' || stream.error === 'too-many-records') return stream.error;
  return stream.error === 'too-large' ? 'handshake-too-large' : 'malformed-handshake';
}

/**
 * A ClientHello: the first, or a later one. After a HelloRetryRequest a TLS 1.3 client sends a second
 * ClientHello (RFC 8446 §4.1.2), which must name the same server; any ClientHello gets the same judgement,
 * so a second one naming another host never reaches the target (issue 16 item 10).
 */
export function judgeClientHello(message: HandshakeMessage, expectedHost: string, options: InspectionOptions, facts: TlsFacts): Exclude<Verdict, undefined> {
  if (message.type !== HANDSHAKE_TYPE.clientHello) return { ok: false, reason: 'not-client-hello' };
  const parsed = parseClientHello(message.body);
  if (!parsed.ok) return { ok: false, reason: parsed.error === 'bad-server-name' ? 'sni-mismatch' : 'malformed-handshake' };
  const { hello } = parsed;
  const highest = highestVersion(hello);
  if (highest !== undefined) facts.offeredVersion = versionName(highest);
  if (hello.serverName !== undefined) facts.serverName = hello.serverName;
  if (highest === undefined || highest < options.minVersion) return { ok: false, reason: 'version-too-low' };
  if (hello.serverName === undefined) return options.missingSni === 'refuse' ? { ok: false, reason: 'sni-missing' } : { ok: true };
  return sameHost(hello.serverName, expectedHost) ? { ok: true } : { ok: false, reason: 'sni-mismatch' };
}

/** Phase 1: the first ClientHello. */
export function judgeHello(stream: HandshakeStream, expectedHost: string, options: InspectionOptions, facts: TlsFacts): Verdict {
  const failure = streamFailure(stream);
  if (failure !== undefined) return refuse(failure);
  const first = stream.messages[0];
  if (first === undefined) return stream.endedBy === undefined ? undefined : refuse('not-client-hello');
  return judgeClientHello(first, expectedHost, options, facts);
}

/** TLS 1.2 and earlier, with allowedClientCertificates: one message of the client's second flight. */
export function judgeCertificate(message: HandshakeMessage, options: InspectionOptions, facts: TlsFacts): Verdict {
  if (message.type === HANDSHAKE_TYPE.clientKeyExchange) {
    facts.clientCertificate = 'none';
    return PASS;
  }
  if (message.type !== HANDSHAKE_TYPE.certificate) return undefined;
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

/**
 * The version the server chose, from its first message: `pending` until that arrives, `none` when the
 * server sent an alert or other non-handshake record first, or the failure that stops reading it.
 */
export function serverChoice(stream: HandshakeStream): { readonly version: number } | 'pending' | 'none' | { readonly failure: InspectionFailure } {
  const failure = streamFailure(stream);
  if (failure !== undefined) return { failure: failure === 'not-tls' ? 'malformed-handshake' : failure };
  const first = stream.messages[0];
  if (first === undefined) return stream.endedBy === undefined ? 'pending' : 'none';
  const version = first.type === HANDSHAKE_TYPE.serverHello ? serverHelloVersion(first.body) : undefined;
  return version === undefined ? { failure: 'malformed-handshake' } : { version };
}
