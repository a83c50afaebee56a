// What `oms-gateway cert show` says about a certificate: who it names, for which hosts, who issued it,
// when it is valid and its fingerprint, the facts an operator compares with what clients report.

import { X509Certificate } from 'node:crypto';

export interface CertificateDescription {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days until notAfter; negative once expired. */
  readonly daysLeft: number;
  readonly expired: boolean;
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly publicKey: string;
  readonly ca: boolean;
  readonly selfSigned: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}

function keyDescription(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails;
  const type = (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  if (details?.modulusLength !== undefined) return `${type} ${details.modulusLength} bits`;
  if (details?.namedCurve !== undefined) return `${type} ${details.namedCurve}`;
  return type;
}

export function describeCertificate(certificate: X509Certificate, now: Date = new Date()): CertificateDescription {
  const notAfter = new Date(certificate.validTo);
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    subjectAltNames: certificate.subjectAltName === undefined ? [] : certificate.subjectAltName.split(', '),
    notBefore: new Date(certificate.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    expired: notAfter.getTime() <= now.getTime(),
    serialNumber: certificate.serialNumber,
    fingerprint256: certificate.fingerprint256,
    publicKey: keyDescription(certificate),
    ca: certificate.ca,
    selfSigned: certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey),
  };
}
