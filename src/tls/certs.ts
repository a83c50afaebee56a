// Every use of node-forge in the gateway, so that replacing the library touches this file only: a private CA
// and a server certificate for `cert generate`, a certificate signing request for `cert request`, and reading
// a request back for `cert show`. RSA keys are made by node:crypto (forge's pure-JS key generation takes
// seconds); forge builds and signs the X.509 structures, which it can do with RSA keys only.

import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import type { SubjectAttribute } from './subjects.js';

export const KEY_SIZES = [2048, 3072, 4096] as const;
export type KeySize = (typeof KEY_SIZES)[number];

/** Why forge could not use given material; the CLI turns these into messages. */
export class CertificateToolError extends Error {
  readonly code = 'CERTIFICATE_TOOL';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateToolError';
  }
}

export interface ExistingCa {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface GenerateOptions {
  /** Host names and IP addresses of the gateway: the certificate's SANs; the first is its common name. */
  readonly hosts: readonly string[];
  readonly keySize: KeySize;
  readonly days: number;
  /** Validity of a new CA; ignored when `ca` is given. */
  readonly caDays: number;
  /** Sign with this CA instead of making one. */
  readonly ca?: ExistingCa;
}

export interface GeneratedPki {
  readonly caCertPem: string;
  /** Undefined when an existing CA signed the certificate: its key stays where it is. */
  readonly caKeyPem: string | undefined;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface RequestOptions {
  readonly hosts: readonly string[];
  /** In the order written (RFC 4514: most specific first, e.g. CN=..., O=...). */
  readonly subject: readonly SubjectAttribute[];
  readonly keySize: KeySize;
  /** Sign with this existing private key (PEM) instead of making one. */
  readonly keyPem?: string;
}

export interface CertificateRequest {
  readonly csrPem: string;
  /** The new private key, or undefined when an existing one was used. */
  readonly keyPem: string | undefined;
}

export interface RequestDescription {
  readonly subject: string;
  readonly subjectAltNames: readonly string[];
  readonly publicKey: string;
  readonly signatureValid: boolean;
}

/** X.500 attribute names forge knows, by the short names subjects.ts produces. */
const FORGE_NAMES: Readonly<Record<string, string>> = {
  CN: 'commonName',
  O: 'organizationName',
  OU: 'organizationalUnitName',
  C: 'countryName',
  L: 'localityName',
  ST: 'stateOrProvinceName',
  EMAILADDRESS: 'emailAddress',
};
const SAN_DNS = 2;
const SAN_IP = 7;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start an hour early so a client whose clock is slightly behind accepts them at once. */
const BACKDATE_MS = 60 * 60 * 1000;

interface RsaPair {
  readonly forgeKey: forge.pki.rsa.PrivateKey;
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly pem: string;
}

function rsaFrom(key: KeyObject): RsaPair {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new CertificateToolError(`the key is ${key.asymmetricKeyType ?? 'not an asymmetric key'}, but certificates are signed with RSA keys only`);
  }
  const forgeKey = forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }).toString());
  return { forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function newRsa(bits: KeySize): RsaPair {
  return rsaFrom(generateKeyPairSync('rsa', { modulusLength: bits }).privateKey);
}

function existingRsa(pem: string, what: string): RsaPair {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new CertificateToolError(`${what} is not a readable, unencrypted PEM private key`, { cause: err });
  }
  try {
    return rsaFrom(key);
  } catch (err) {
    throw err instanceof CertificateToolError ? new CertificateToolError(`${what}: ${err.message}`) : err;
  }
}

function altNames(hosts: readonly string[]): { type: number; value?: string; ip?: string }[] {
  return hosts.map((host) => (isIP(host) === 0 ? { type: SAN_DNS, value: host } : { type: SAN_IP, ip: host }));
}

function baseCertificate(publicKey: forge.pki.rsa.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A leading 0x01 keeps the DER integer positive; 15 random bytes keep serials unique (RFC 5280 §4.1.2.2).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
  return cert;
}

function makeCa(bits: KeySize, days: number): { cert: forge.pki.Certificate; key: RsaPair } {
  const key = newRsa(bits);
  const cert = baseCertificate(key.publicKey, days);
  const subject = [
    { name: 'commonName', value: `oms-gateway CA ${randomBytes(4).toString('hex')}` },
    { name: 'organizationName', value: 'oms-gateway' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  // Critical basicConstraints and key identifiers: OpenSSL 3 and Python's VERIFY_X509_STRICT insist on them.
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.forgeKey, forge.md.sha256.create());
  return { cert, key };
}

function loadCa(ca: ExistingCa): { cert: forge.pki.Certificate; key: RsaPair } {
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(ca.certPem);
  } catch (err) {
    throw new CertificateToolError('the CA certificate is not a PEM certificate with an RSA key', { cause: err });
  }
  const key = existingRsa(ca.keyPem, 'the CA key');
  if (forge.pki.publicKeyToPem(cert.publicKey) !== forge.pki.publicKeyToPem(key.publicKey)) {
    throw new CertificateToolError('the CA key does not belong to the CA certificate');
  }
  return { cert, key };
}

/** A server certificate for `hosts`, signed by a new CA or by `options.ca`. */
export function generateCertificates(options: GenerateOptions): GeneratedPki {
  const [commonName] = options.hosts;
  if (commonName === undefined) throw new CertificateToolError('at least one host name or address is needed');
  const ca = options.ca === undefined ? makeCa(options.keySize, options.caDays) : loadCa(options.ca);
  const server = newRsa(options.keySize);
  const cert = baseCertificate(server.publicKey, options.days);
  cert.setSubject([
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'oms-gateway' },
  ]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(options.hosts) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key.forgeKey, forge.md.sha256.create());
  return {
    caCertPem: forge.pki.certificateToPem(ca.cert),
    caKeyPem: options.ca === undefined ? ca.key.pem : undefined,
    certPem: forge.pki.certificateToPem(cert),
    keyPem: server.pem,
  };
}

/** A PKCS #10 request (RFC 2986) for an enterprise CA, with the hosts as requested SANs. */
export function createCertificateRequest(options: RequestOptions): CertificateRequest {
  const key = options.keyPem === undefined ? newRsa(options.keySize) : existingRsa(options.keyPem, 'the key');
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = key.publicKey;
  // Written most specific first (RFC 4514 §2.1), encoded most general first.
  csr.setSubject(
    [...options.subject].reverse().map((attribute) => {
      const name = FORGE_NAMES[attribute.type];
      if (name === undefined) {
        throw new CertificateToolError(`attribute ${attribute.type} cannot be put in a request; use ${Object.keys(FORGE_NAMES).join(', ')}`);
      }
      return { name, value: attribute.written };
    }),
  );
  if (options.hosts.length > 0) {
    csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: altNames(options.hosts) }] }]);
  }
  csr.sign(key.forgeKey, forge.md.sha256.create());
  return { csrPem: forge.pki.certificationRequestToPem(csr), keyPem: options.keyPem === undefined ? key.pem : undefined };
}

interface ForgeAltName {
  readonly type: number;
  readonly value?: string;
  readonly ip?: string;
}

/** What `cert show` prints for a CERTIFICATE REQUEST block. */
export function describeCertificateRequest(pem: string): RequestDescription {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(pem);
  } catch (err) {
    throw new CertificateToolError('not a readable certificate request with an RSA key', { cause: err });
  }
  const subject = [...csr.subject.attributes]
    .reverse()
    .map((attribute) => `${attribute.shortName ?? attribute.name ?? attribute.type}=${String(attribute.value)}`)
    .join(', ');
  const requested = csr.getAttribute({ name: 'extensionRequest' });
  const extensions = (requested?.extensions ?? []) as { name?: string; altNames?: ForgeAltName[] }[];
  const names = extensions.find((extension) => extension.name === 'subjectAltName')?.altNames ?? [];
  const publicKey = csr.publicKey as forge.pki.rsa.PublicKey | null;
  return {
    subject,
    subjectAltNames: names.map((name) => (name.type === SAN_IP ? `IP Address:${name.ip ?? ''}` : `DNS:${name.value ?? ''}`)),
    publicKey: publicKey === null ? 'unknown' : `RSA ${publicKey.n.bitLength()} bits`,
    signatureValid: csr.verify(),
  };
}
