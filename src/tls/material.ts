// The certificate and private key a TLS listener serves, and the CA its client certificates must chain to:
// read from their files and checked before they are used, at start-up, at configuration reload and when the
// files change. Each failure names the file and says what to do: missing, unreadable, not PEM, a key that
// does not belong to the certificate, a certificate that has expired or is not valid yet.

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export type MaterialField = 'cert' | 'key' | 'ca';
export type MaterialProblem = 'missing' | 'unreadable' | 'not-pem' | 'encrypted-key' | 'mismatched' | 'expired' | 'not-yet-valid' | 'unusable';

export class TlsMaterialError extends Error {
  readonly code = 'TLS_MATERIAL';
  readonly field: MaterialField;
  readonly problem: MaterialProblem;

  constructor(field: MaterialField, problem: MaterialProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsMaterialError';
    this.field = field;
    this.problem = problem;
  }
}

export interface MaterialFiles {
  readonly cert: string;
  readonly key: string;
  /** CA certificates (PEM) client certificates must chain to; undefined without client authentication. */
  readonly ca: string | undefined;
}

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string | undefined;
  /** The served (leaf) certificate: the first of the certificate file. */
  readonly certificate: X509Certificate;
  /** The CA certificate that expires first, when there is a CA file. */
  readonly firstExpiringCa: X509Certificate | undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** PKCS #8 `ENCRYPTED PRIVATE KEY` or a traditional key with `Proc-Type: 4,ENCRYPTED`. */
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;
const GENERATE_HINT = 'make a pair with `oms-gateway cert generate` (or `cert request` for an enterprise CA)';

function readPem(field: MaterialField, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') {
      const hint = field === 'ca' ? 'give the CA certificate(s) that issue the client certificates' : GENERATE_HINT;
      throw new TlsMaterialError(field, 'missing', `${path} does not exist; ${hint}`, { cause: err });
    }
    throw new TlsMaterialError(field, 'unreadable', `${path} cannot be read (${code}); the gateway's user needs read access to it`, { cause: err });
  }
}


/** The certificates of a PEM file, in order; at least one. */
function certificatesIn(field: MaterialField, path: string, pem: string): [X509Certificate, ...X509Certificate[]] {
  const parse = (block: string): X509Certificate => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsMaterialError(field, 'not-pem', `${path} holds a certificate that cannot be parsed`, { cause: err });
    }
  };
  const [first, ...rest] = pem.match(PEM_CERTIFICATE) ?? [];
  if (first === undefined) throw new TlsMaterialError(field, 'not-pem', `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return [parse(first), ...rest.map(parse)];
}

function privateKey(path: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    if (ENCRYPTED_KEY.test(pem)) {
      throw new TlsMaterialError('key', 'encrypted-key', `${path} is protected by a passphrase; the gateway needs an unencrypted key (mode 0600)`, { cause: err });
    }
    throw new TlsMaterialError('key', 'not-pem', `${path} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`, { cause: err });
  }
}

function checkValidity(field: MaterialField, path: string, certificate: X509Certificate, now: Date): void {
  const notAfter = new Date(certificate.validTo);
  const notBefore = new Date(certificate.validFrom);
  if (notAfter.getTime() <= now.getTime()) {
    throw new TlsMaterialError(field, 'expired', `${path} expired on ${notAfter.toISOString()}; renew it (${GENERATE_HINT})`);
  }
  if (notBefore.getTime() > now.getTime()) {
    throw new TlsMaterialError(field, 'not-yet-valid', `${path} is not valid before ${notBefore.toISOString()}; check the clock of this host and of the CA`);
  }
}

/** Reads and checks the files. Throws TlsMaterialError. */
export function loadTlsMaterial(files: MaterialFiles, now: Date = new Date()): TlsMaterial {
  const certPem = readPem('cert', files.cert);
  const keyPem = readPem('key', files.key);
  const [certificate] = certificatesIn('cert', files.cert, certPem);
  const key = privateKey(files.key, keyPem);
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsMaterialError('key', 'mismatched', `${files.key} is not the private key of the certificate ${files.cert}; give the key the certificate was issued for`);
  }
  checkValidity('cert', files.cert, certificate, now);
  let caPem: string | undefined;
  let firstExpiringCa: X509Certificate | undefined;
  if (files.ca !== undefined) {
    caPem = readPem('ca', files.ca);
    const authorities = certificatesIn('ca', files.ca, caPem);
    firstExpiringCa = authorities.reduce((first, next) => (Date.parse(next.validTo) < Date.parse(first.validTo) ? next : first));
    // A bundle may carry an old CA beside its successor; it is refused only when nothing in it is valid.
    const latest = authorities.reduce((last, next) => (Date.parse(next.validTo) > Date.parse(last.validTo) ? next : last));
    checkValidity('ca', files.ca, latest, now);
  }
  return { certPem, keyPem, caPem, certificate, firstExpiringCa };
}

/**
 * The secure-context options of a listener, checked by building a context once: a cipher list OpenSSL does
 * not understand is refused here rather than at the first handshake. Throws TlsMaterialError.
 */
export function secureContextOptions(material: TlsMaterial, settings: { minVersion: 'TLSv1.2' | 'TLSv1.3'; ciphers: string }): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: material.certPem,
    key: material.keyPem,
    minVersion: settings.minVersion,
    ciphers: settings.ciphers,
    honorCipherOrder: true,
    ...(material.caPem === undefined ? {} : { ca: material.caPem }),
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new TlsMaterialError('cert', 'unusable', `OpenSSL refused the certificate, key or settings: ${(err as Error).message}`, { cause: err });
  }
  return options;
}

/**
 * The default cipher list: Mozilla's "intermediate" profile (2023), forward-secret AEAD suites only, TLS 1.3
 * suites first. Every agent of the last decade speaks one of them.
 */
export const DEFAULT_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Whether OpenSSL accepts `ciphers` as a cipher list (at least one suite it knows). */
export function isCipherList(ciphers: string): boolean {
  try {
    createSecureContext({ ciphers });
    return true;
  } catch {
    return false;
  }
}
