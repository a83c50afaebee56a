// What `config check` prints: the effective configuration as JSON, with password hashes replaced. A hash is
// not a password, but it allows an offline guessing attack, so it never leaves the file it was written to.

import type { GatewayConfig } from './types.js';
import type { UserConfig } from '../auth/config-types.js';

const REDACTED = '[redacted]';

/** The parent proxy's password is replaced; the CA's PEM text is left out (its file is shown). */
function redactParent(parent: GatewayConfig['relayProxy']): unknown {
  if (parent === undefined) return null;
  const { ca: _pem, ...shown } = parent;
  return {
    ...shown,
    username: parent.username ?? null,
    password: parent.password === undefined ? null : REDACTED,
    caFile: parent.caFile ?? null,
  };
}

/** The probe's CA PEM text is left out like the parent proxy's (its file is shown). */
function withoutPem(probe: GatewayConfig['upstreamProbe']): unknown {
  const { ca: _pem, ...shown } = probe;
  return { ...shown, caFile: probe.caFile ?? null };
}

function redactUsers(users: readonly UserConfig[]): unknown[] {
  return users.map((user) => ({ name: user.name, passwordHash: REDACTED }));
}

/** A JSON-able copy; values that are undefined (the embedded default's path, a mapping without port) become null. */
export function redactConfig(config: GatewayConfig): unknown {
  // The preset data is shown by `oms-gateway presets show`; here only the version in effect.
  const { presets, ...policy } = config.policy;
  return {
    ...config,
    policy: { ...policy, presetVersion: presets.version },
    resolve: config.resolve.map((mapping) => ({ ...mapping, port: mapping.port ?? null })),
    auth: { ...config.auth, users: redactUsers(config.auth.users) },
    log: { ...config.log, file: config.log.file ?? null },
    metrics: {
      ...config.metrics,
      users: redactUsers(config.metrics.users),
      tls: config.metrics.tls ?? null,
    },
    sourcePath: config.sourcePath ?? null,
    pidFile: config.pidFile ?? null,
    relayProxy: redactParent(config.relayProxy),
    upstreamProbe: withoutPem(config.upstreamProbe),
  };
}
