// The TLS part of the validated configuration: TLS on the proxy's listeners and the tunnel inspection.
// config/ builds it (config/types.ts composes it); tls/ owns the shape, so nothing here needs the
// configuration module.

/** `listen: [{address, tls: {...}}]` or `start --tls-cert FILE --tls-key FILE` (tls/listener.ts). */
export interface ListenerTlsConfig {
  /** Absolute paths of the PEM certificate (leaf first, then intermediates) and its private key. */
  readonly cert: string;
  readonly key: string;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list, TLS 1.2 suites and TLS 1.3 (TLS_...) suites together. */
  readonly ciphers: string;
  /** Refuse plain-HTTP clients (400) instead of serving them on the same port. */
  readonly requireTls: boolean;
  /** Proxy-Authorization on a plain connection: allow, or refuse with 403. */
  readonly plainBasicAuth: 'allow' | 'refuse';
  readonly clientAuth?: ClientAuthConfig | undefined;
  /** How often the files are checked for a new certificate and key. */
  readonly reloadCheckSeconds: number;
}

/** Client certificates for authentication to the proxy itself. */
export interface ClientAuthConfig {
  /** Absolute path of the CA certificate(s), PEM, that client certificates must chain to. */
  readonly ca: string;
  /** Subjects allowed (tls/subjects.ts rule); empty: any certificate the CA issued. */
  readonly subjects: readonly string[];
  /** alternative: a certificate replaces Basic credentials; required: every TLS client needs one. */
  readonly mode: 'alternative' | 'required';
}

/** The look into CONNECT tunnels at the agent's TLS handshake (tls/inspect.ts). */
export interface InspectionConfig {
  readonly enabled: boolean;
  /** Lowest TLS version a ClientHello must offer. */
  readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** A ClientHello without server_name: allow, or close the tunnel. */
  readonly missingSni: 'allow' | 'refuse';
  readonly timeoutSeconds: number;
  /** Bytes read from each side, and the longest handshake message, before the tunnel is closed. */
  readonly maxHandshakeBytes: number;
  /** TLS records read from each side before the tunnel is closed (issue 16: a ClientHello dripped in tiny records). */
  readonly maxHandshakeRecords: number;
  /** With allowedClientCertificates set, TLS 1.3 sessions (certificate encrypted): allow, or close. */
  readonly hiddenClientCertificates: 'allow' | 'refuse';
}
