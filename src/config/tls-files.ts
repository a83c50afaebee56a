// The certificate, key and client CA files of TLS listeners, checked when the configuration is loaded (start,
// `config check`, reload), so a missing, unreadable, mismatched or expired pair stops the start with the key
// and the file named, instead of failing the first handshake. `--tls-cert/--tls-key` are applied here too.

import { loadTlsMaterial, secureContextOptions, TlsMaterialError } from '../tls/material.js';
import type { ConfigIssue, Locate } from './issues.js';
import { listenerTlsSchema } from './schema.js';
import type { ListenerConfig } from './types.js';

/** The listeners with TLS from `--tls-cert FILE --tls-key FILE`, every other TLS setting at its default. */
export function withFlagTls(listeners: readonly ListenerConfig[], files: { readonly cert: string; readonly key: string }): ListenerConfig[] {
  return listeners.map((listener) => ({ ...listener, tls: listenerTlsSchema.parse({ cert: files.cert, key: files.key }) }));
}

/** One issue per TLS listener whose files cannot be served; `fromFlags` when --tls-cert/--tls-key named them. */
export function tlsFileIssues(listeners: readonly ListenerConfig[], locate: Locate, fromFlags: boolean): ConfigIssue[] {
  return listeners.flatMap((listener, index): ConfigIssue[] => {
    const tls = listener.tls;
    if (tls === undefined) return [];
    try {
      const material = loadTlsMaterial({ cert: tls.cert, key: tls.key, ca: tls.clientAuth?.ca });
      secureContextOptions(material, tls);
      return [];
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      if (fromFlags) return [{ key: err.field === 'key' ? '--tls-key' : '--tls-cert', line: undefined, message: err.message }];
      const path = err.field === 'ca' ? ['listen', index, 'tls', 'clientAuth', 'ca'] : ['listen', index, 'tls', err.field];
      return [{ key: `listen[${index}].tls.${err.field === 'ca' ? 'clientAuth.ca' : err.field}`, line: locate(path), message: err.message }];
    }
  });
}
