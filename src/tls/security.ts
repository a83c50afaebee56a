// What a TLS-capable listener learned about a connection before the HTTP parser saw it, and what that means
// for proxy authentication: Basic credentials sent in clear can be refused (tls.plainBasicAuth: refuse), and
// a verified client certificate can stand in for them (tls.clientAuth).

import type { AuthMode } from '../auth/config-types.js';

export type ClientAuthMode = 'alternative' | 'required';

export interface ConnectionSecurity {
  /** The client spoke TLS to the gateway. */
  readonly encrypted: boolean;
  /** Proxy credentials on this plain connection are refused. */
  readonly refusePlainCredentials: boolean;
  /** Subject of the client certificate the listener verified, and the listener's clientAuth mode. */
  readonly certificate: { readonly subject: string; readonly mode: ClientAuthMode } | undefined;
}

export type ConnectionAuth =
  /** Authenticate with the Proxy-Authorization header as usual. */
  | { readonly kind: 'basic' }
  /** The client certificate authenticates the client; `user` is its subject. */
  | { readonly kind: 'certificate'; readonly user: string }
  /** Credentials came in clear where the listener refuses them. */
  | { readonly kind: 'refuse' };

const BASIC: ConnectionAuth = { kind: 'basic' };

/**
 * How a request on a connection is authenticated. A verified certificate replaces Basic in `alternative`
 * mode; in `required` mode it is an addition to Basic, and the only credential when auth.mode is anonymous.
 */
export function connectionAuth(security: ConnectionSecurity | undefined, hasCredentials: boolean, authMode: AuthMode): ConnectionAuth {
  if (security === undefined) return BASIC;
  if (!security.encrypted && security.refusePlainCredentials && hasCredentials) return { kind: 'refuse' };
  const certificate = security.certificate;
  if (certificate !== undefined && (certificate.mode === 'alternative' || authMode === 'anonymous')) {
    return { kind: 'certificate', user: certificate.subject };
  }
  return BASIC;
}
