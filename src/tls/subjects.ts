// Certificate subjects as operators write them (allowedClientCertificates, listen[].tls.clientAuth.subjects)
// and how a certificate is matched against them.
//
// The rule: an entry is a list of attributes `TYPE=value` separated by commas, as Windows and OpenSSL print
// subjects ("CN=<workspace id>, CN=<agent guid>, OU=Linux Monitoring Agent, O=Microsoft"). A certificate
// matches an entry when its subject carries every attribute of the entry, in any order; it may carry more.
// Attribute types are compared by name without regard to case (long names such as commonName and the Windows
// spellings S and E are accepted), values without regard to case or surrounding spaces (X.520 caseIgnoreMatch).
// So `CN=<workspace id>` alone admits every Linux agent of that workspace, and a full subject admits one agent.

import type { X509Certificate } from 'node:crypto';

export interface SubjectAttribute {
  /** Upper-case short name (CN, O, OU, ...) or a dotted OID. */
  readonly type: string;
  /** Lower-case, trimmed: what matching compares. */
  readonly value: string;
  /** Trimmed, case kept: what a certificate request puts in its subject. */
  readonly written: string;
}

export interface SubjectPattern {
  /** The entry as written (trimmed), for logs. */
  readonly text: string;
  readonly attributes: readonly SubjectAttribute[];
}

export type SubjectParse = { readonly ok: true; readonly pattern: SubjectPattern } | { readonly ok: false; readonly message: string };

/** A certificate's subject: attribute types (upper case) to their values (lower case), and a printable form. */
export interface CertificateSubject {
  readonly text: string;
  readonly attributes: ReadonlyMap<string, readonly string[]>;
}

export const SUBJECT_EXAMPLE = '"CN=<workspace id>" or "CN=<workspace id>, CN=<agent guid>, OU=Linux Monitoring Agent, O=Microsoft"';

/** OpenSSL's short names, upper-cased, for every spelling an operator may copy from a tool. */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  CN: 'CN', COMMONNAME: 'CN',
  O: 'O', ORGANIZATIONNAME: 'O',
  OU: 'OU', ORGANIZATIONALUNITNAME: 'OU',
  C: 'C', COUNTRYNAME: 'C',
  L: 'L', LOCALITYNAME: 'L',
  ST: 'ST', S: 'ST', STATEORPROVINCENAME: 'ST',
  STREET: 'STREET', STREETADDRESS: 'STREET',
  EMAILADDRESS: 'EMAILADDRESS', E: 'EMAILADDRESS', EMAIL: 'EMAILADDRESS',
  DC: 'DC', DOMAINCOMPONENT: 'DC',
  UID: 'UID', USERID: 'UID',
  SERIALNUMBER: 'SERIALNUMBER',
  TITLE: 'TITLE',
  GN: 'GN', GIVENNAME: 'GN',
  SN: 'SN', SURNAME: 'SN',
};
const OID = /^[0-9]+(?:\.[0-9]+)+$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;
/** Longest entry accepted; real subjects are a few hundred bytes. */
const MAX_ENTRY = 1024;
/** Longest subject text put in a log record. */
const MAX_LOGGED = 512;

function canonicalType(text: string): string | undefined {
  const trimmed = text.trim();
  if (OID.test(trimmed)) return trimmed;
  return TYPE_ALIASES[trimmed.toUpperCase()];
}

function normaliseValue(value: string): string {
  return value.trim().toLowerCase();
}

function fail(message: string): SubjectParse {
  return { ok: false, message: `${message}; expected a subject such as ${SUBJECT_EXAMPLE}` };
}

/**
 * Reads one value starting at `start`: a quoted string ("..." with \" and \\), or text up to the next
 * unescaped ',' or '+', where `\X` is a literal X and `\HH` a hex-encoded byte (RFC 4514 §2.4).
 */
function readValue(text: string, start: number): { value: string; end: number } | string {
  let at = start;
  while (text[at] === ' ') at++;
  const bytes: number[] = [];
  const pushText = (s: string): void => {
    for (const byte of Buffer.from(s, 'utf8')) bytes.push(byte);
  };
  if (text[at] === '"') {
    at++;
    for (;;) {
      const c = text[at];
      if (c === undefined) return 'a quoted value is not closed';
      if (c === '"') break;
      if (c === '\\') {
        const next = text[at + 1];
        if (next === undefined) return 'a value ends with a lone backslash';
        pushText(next);
        at += 2;
      } else {
        pushText(c);
        at++;
      }
    }
    at++;
    while (text[at] === ' ') at++;
    if (at < text.length && text[at] !== ',' && text[at] !== '+') return 'text follows a quoted value';
    return { value: Buffer.from(bytes).toString('utf8'), end: at };
  }
  while (at < text.length && text[at] !== ',' && text[at] !== '+') {
    const c = text[at] ?? '';
    if (c === '\\') {
      const pair = text.slice(at + 1, at + 3);
      if (HEX_PAIR.test(pair)) {
        bytes.push(Number.parseInt(pair, 16));
        at += 3;
        continue;
      }
      const next = text[at + 1];
      if (next === undefined) return 'a value ends with a lone backslash';
      pushText(next);
      at += 2;
      continue;
    }
    pushText(c);
    at++;
  }
  return { value: Buffer.from(bytes).toString('utf8'), end: at };
}

/** Parses an entry of allowedClientCertificates or clientAuth.subjects. */
export function parseSubjectPattern(input: string): SubjectParse {
  const text = input.trim();
  if (text === '') return fail('the subject is empty');
  if (text.length > MAX_ENTRY) return fail(`the subject is longer than ${MAX_ENTRY} characters`);
  const attributes: SubjectAttribute[] = [];
  let at = 0;
  while (at < text.length) {
    const equals = text.indexOf('=', at);
    if (equals === -1) return fail('each attribute must be TYPE=value');
    const typeText = text.slice(at, equals);
    const type = canonicalType(typeText);
    if (type === undefined) {
      return fail(`unknown attribute type "${typeText.trim()}" (use CN, O, OU, C, L, ST, E, DC, UID, SERIALNUMBER or a dotted OID)`);
    }
    const read = readValue(text, equals + 1);
    if (typeof read === 'string') return fail(read);
    const written = read.value.trim();
    if (written === '') return fail(`the value of ${type} is empty`);
    attributes.push({ type, value: normaliseValue(written), written });
    at = read.end + 1;
    if (read.end < text.length && at >= text.length) return fail('the subject ends with a separator');
  }
  return { ok: true, pattern: { text, attributes } };
}

/** How a certificate whose subject has no attribute at all (an empty DN) is written in logs. */
export const EMPTY_SUBJECT = '(empty subject)';

/**
 * The subject of a certificate, as OpenSSL decoded it. The certificate comes from the network, so every
 * shape is expected: Node gives `subject` as undefined for an empty DN (issue 16), and unknown attribute
 * types under their dotted OID. Multi-valued RDNs ("CN=a + OU=b") count as their separate attributes.
 */
export function subjectOf(certificate: X509Certificate): CertificateSubject {
  const attributes = new Map<string, string[]>();
  const legacy = certificate.toLegacyObject().subject as Readonly<Record<string, unknown>> | undefined;
  for (const [type, values] of Object.entries(legacy ?? {})) {
    const canonical = canonicalType(type) ?? type.toUpperCase();
    const list = attributes.get(canonical) ?? [];
    for (const value of Array.isArray(values) ? values : [values]) {
      if (typeof value === 'string') list.push(normaliseValue(value));
    }
    attributes.set(canonical, list);
  }
  const printed: unknown = certificate.subject;
  const text = typeof printed === 'string' && printed !== '' ? printed.split('\n').join(', ') : EMPTY_SUBJECT;
  return { text: text.length > MAX_LOGGED ? `${text.slice(0, MAX_LOGGED)}...` : text, attributes };
}

export function subjectMatches(pattern: SubjectPattern, subject: CertificateSubject): boolean {
  // Each attribute of the pattern consumes one value of the certificate, so "CN=a, CN=a" needs two CNs.
  const available = new Map([...subject.attributes].map(([type, values]) => [type, [...values]]));
  return pattern.attributes.every(({ type, value }) => {
    const values = available.get(type);
    const index = values?.indexOf(value) ?? -1;
    if (values === undefined || index === -1) return false;
    values.splice(index, 1);
    return true;
  });
}

/** The first pattern of `patterns` the subject matches, or undefined. */
export function findMatch(patterns: readonly SubjectPattern[], subject: CertificateSubject): SubjectPattern | undefined {
  return patterns.find((pattern) => subjectMatches(pattern, subject));
}

/** Compiles entries the configuration loader has already validated with parseSubjectPattern. */
export function compileSubjects(entries: readonly string[]): SubjectPattern[] {
  return entries.map((entry) => {
    const parsed = parseSubjectPattern(entry);
    if (!parsed.ok) throw new Error(`unvalidated certificate subject reached the runtime: ${parsed.message}`);
    return parsed.pattern;
  });
}
