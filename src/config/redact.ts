// What `config check` prints: the effective configuration as JSON, with password hashes replaced. A hash is
// not a password, but it allows an offline guessing attack, so it never leaves the file it was written to.

import type { GatewayConfig } from './types.js';

const REDACTED = '[redacted]';

/** A JSON-able copy; values that are undefined (the embedded default's path, a mapping without port) become null. */
export function redactConfig(config: GatewayConfig): unknown {
  return {
    ...config,
    resolve: config.resolve.map((mapping) => ({ ...mapping, port: mapping.port ?? null })),
    auth: { ...config.auth, users: config.auth.users.map((user) => ({ name: user.name, passwordHash: REDACTED })) },
    sourcePath: config.sourcePath ?? null,
  };
}
