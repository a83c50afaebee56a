// When the certificates the gateway serves expire, for the `..._certificate_expiry_timestamp_seconds` metric
// and its alert. TLS listeners record their certificate (and client CA) here whenever they load one; the
// metrics side reads certificateExpiries().

export interface CertificateExpiry {
  /** `proxy:<certificate file>` or `client-ca:<CA file>`: which file is meant. */
  readonly certificate: string;
  readonly notAfter: Date;
}

const current = new Map<string, Date>();

export function recordExpiry(certificate: string, notAfter: Date): void {
  current.set(certificate, notAfter);
}

/** Every certificate recorded so far, with the expiry of the version loaded last. */
export function certificateExpiries(): readonly CertificateExpiry[] {
  return [...current].map(([certificate, notAfter]) => ({ certificate, notAfter }));
}
