// The handshake messages a tunnel inspection reads in the clear: the client's ClientHello (offered versions,
// server name), the server's ServerHello (the version chosen) and, up to TLS 1.2, the client's Certificate
// (RFC 8446 §4.1.2, §4.1.3, §4.2.1, §4.4.2; RFC 5246 §7.4.1.2, §7.4.6; RFC 6066 §3). Pure: bytes in, a
// result out, never a throw and never a read outside the bytes given.

import { Cursor } from './cursor.js';

/** Protocol versions by the names Node and OpenSSL use for them. */
export const TLS_VERSIONS = { TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 } as const;
export type TlsVersionName = keyof typeof TLS_VERSIONS;

const SSL3 = 0x0300;
const EXTENSION_SERVER_NAME = 0;
const EXTENSION_SUPPORTED_VERSIONS = 43;
const NAME_TYPE_HOST = 0;
const RANDOM_BYTES = 32;
const MAX_SESSION_ID = 32;
/** RFC 1035: a DNS name is at most 255 octets; a longer server name cannot name anything. */
const MAX_HOST_NAME = 255;
/** Visible ASCII: RFC 6066 host names are ASCII (IDNs as A-labels); spaces and controls are not names. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

export interface ClientHello {
  readonly legacyVersion: number;
  /** The versions offered: supported_versions without GREASE values when present, else legacy_version. */
  readonly versions: readonly number[];
  /** The host_name of server_name, as sent; undefined when the client sent none. */
  readonly serverName: string | undefined;
}

/** `malformed` for a message that breaks the syntax; `bad-server-name` for a server_name that names nothing. */
export type HelloError = 'malformed' | 'bad-server-name';

export type HelloResult = { readonly ok: true; readonly hello: ClientHello } | { readonly ok: false; readonly error: HelloError };

/** RFC 8701: GREASE versions are 0x?A?A with both bytes equal; they announce nothing. */
function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

export function versionName(version: number): string {
  for (const [name, value] of Object.entries(TLS_VERSIONS)) if (value === version) return name;
  return version === SSL3 ? 'SSLv3' : `0x${version.toString(16).padStart(4, '0')}`;
}

/** The highest version a ClientHello offers, or undefined when it offers none a TLS peer knows. */
export function highestVersion(hello: ClientHello): number | undefined {
  const known = hello.versions.filter((version) => version >= SSL3 && version <= TLS_VERSIONS['TLSv1.3']);
  return known.length === 0 ? undefined : Math.max(...known);
}

interface Extension {
  readonly type: number;
  readonly data: Cursor;
}

/** The extensions block, or undefined when it is malformed or names one extension twice (RFC 8446 §4.2). */
function readExtensions(cursor: Cursor): Extension[] | undefined {
  if (cursor.remaining === 0) return [];
  const block = cursor.vector(2);
  if (block === undefined || cursor.remaining !== 0) return undefined;
  const extensions: Extension[] = [];
  const seen = new Set<number>();
  while (block.remaining > 0) {
    const type = block.uint(2);
    const data = block.vector(2);
    if (type === undefined || data === undefined || seen.has(type)) return undefined;
    seen.add(type);
    extensions.push({ type, data });
  }
  return extensions;
}

/** RFC 6066 §3: a ServerNameList with at most one host_name. */
function readServerName(data: Cursor): { name: string } | HelloError {
  const list = data.vector(2);
  if (list === undefined || data.remaining !== 0 || list.remaining === 0) return 'malformed';
  let name: string | undefined;
  while (list.remaining > 0) {
    const type = list.uint(1);
    const value = list.vector(2);
    if (type === undefined || value === undefined) return 'malformed';
    if (type !== NAME_TYPE_HOST) continue;
    if (name !== undefined) return 'malformed';
    const bytes = value.take(value.remaining) ?? new Uint8Array(0);
    name = Buffer.from(bytes).toString('latin1');
    if (bytes.length > MAX_HOST_NAME || !VISIBLE_ASCII.test(name)) return 'bad-server-name';
  }
  return name === undefined ? 'malformed' : { name };
}

/** RFC 8446 §4.2.1: a list of two-byte versions, at least one. */
function readSupportedVersions(data: Cursor): number[] | undefined {
  const list = data.vector(1);
  if (list === undefined || data.remaining !== 0 || list.remaining === 0 || list.remaining % 2 !== 0) return undefined;
  const versions: number[] = [];
  while (list.remaining > 0) {
    const version = list.uint(2) ?? 0;
    if (!isGrease(version)) versions.push(version);
  }
  return versions;
}

/** The body of a ClientHello handshake message (after its four-byte header). */
export function parseClientHello(body: Uint8Array): HelloResult {
  const fail = (error: HelloError): HelloResult => ({ ok: false, error });
  const cursor = new Cursor(body);
  const legacyVersion = cursor.uint(2);
  const random = cursor.take(RANDOM_BYTES);
  const sessionId = cursor.vector(1);
  const cipherSuites = cursor.vector(2);
  const compression = cursor.vector(1);
  if (legacyVersion === undefined || random === undefined || sessionId === undefined || cipherSuites === undefined || compression === undefined) {
    return fail('malformed');
  }
  if (sessionId.remaining > MAX_SESSION_ID || cipherSuites.remaining < 2 || cipherSuites.remaining % 2 !== 0 || compression.remaining < 1) {
    return fail('malformed');
  }
  const extensions = readExtensions(cursor);
  if (extensions === undefined) return fail('malformed');
  let serverName: string | undefined;
  let versions: number[] = [legacyVersion];
  for (const extension of extensions) {
    if (extension.type === EXTENSION_SERVER_NAME) {
      const read = readServerName(extension.data);
      if (typeof read === 'string') return fail(read);
      serverName = read.name;
    } else if (extension.type === EXTENSION_SUPPORTED_VERSIONS) {
      const offered = readSupportedVersions(extension.data);
      if (offered === undefined) return fail('malformed');
      versions = offered;
    }
  }
  return { ok: true, hello: { legacyVersion, versions, serverName } };
}

/**
 * The version a ServerHello (or HelloRetryRequest) selects: supported_versions when present (TLS 1.3),
 * else legacy_version. Undefined when the message is malformed.
 */
export function serverHelloVersion(body: Uint8Array): number | undefined {
  const cursor = new Cursor(body);
  const legacyVersion = cursor.uint(2);
  const random = cursor.take(RANDOM_BYTES);
  const sessionId = cursor.vector(1);
  const cipherSuite = cursor.uint(2);
  const compression = cursor.uint(1);
  if (legacyVersion === undefined || random === undefined || sessionId === undefined || cipherSuite === undefined || compression === undefined) {
    return undefined;
  }
  if (sessionId.remaining > MAX_SESSION_ID) return undefined;
  const extensions = readExtensions(cursor);
  if (extensions === undefined) return undefined;
  const selected = extensions.find((extension) => extension.type === EXTENSION_SUPPORTED_VERSIONS);
  if (selected === undefined) return legacyVersion;
  const version = selected.data.uint(2);
  return version === undefined || selected.data.remaining !== 0 ? undefined : version;
}

export type CertificateResult =
  /** `der` is the sender's own certificate, the first of the list; undefined when the list is empty. */
  | { readonly ok: true; readonly der: Uint8Array | undefined }
  | { readonly ok: false };

/** The body of a TLS 1.2 Certificate message: a list of DER certificates, the sender's first (RFC 5246 §7.4.2). */
export function firstCertificate(body: Uint8Array): CertificateResult {
  const cursor = new Cursor(body);
  const list = cursor.vector(3);
  if (list === undefined || cursor.remaining !== 0) return { ok: false };
  if (list.remaining === 0) return { ok: true, der: undefined };
  let first: Uint8Array | undefined;
  while (list.remaining > 0) {
    const certificate = list.vector(3);
    if (certificate === undefined || certificate.remaining === 0) return { ok: false };
    first ??= certificate.take(certificate.remaining);
  }
  return { ok: true, der: first };
}
