// The one-line string forms of the configuration that the policy parsers do not cover: listeners, host
// mappings and workspace IDs. The YAML schema and the command-line flags both go through these, so a value is
// accepted or refused the same way wherever it is written. Messages say what was expected, never echo input.

import { isIPv6 } from 'node:net';
import { workspaceId } from '../policy/defaults.js';
import { canonicalIPv6 } from '../policy/ip.js';
import { parsePattern } from '../policy/patterns.js';
import { parseHost, parsePort } from '../policy/target.js';
import type { HostMappingConfig, ListenerConfig } from './types.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export const LISTEN_EXPECTED = 'expected HOST:PORT, e.g. 0.0.0.0:8080';
export const MAPPING_EXPECTED = 'expected PATTERN=ADDRESS[:PORT], e.g. *.ods.opinsights.azure.com=127.0.0.1:18443';

/** Port 0 is allowed for listeners only: the OS picks a free port, which is what tests bind. */
const LISTEN_PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function fail<T>(message: string): Parsed<T> {
  return { ok: false, message };
}

/** `HOST:PORT` with HOST an IP literal (IPv6 in brackets, e.g. `[::]:8080`) and PORT 0–65535. */
export function parseListenAddress(text: string): Parsed<ListenerConfig> {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return fail(LISTEN_EXPECTED);
  const host = parseHost(text.slice(0, colon));
  if (!host.ok || host.kind === 'name') {
    return fail(`HOST must be an IP address, IPv6 in brackets as in [::]:8080; ${LISTEN_EXPECTED}`);
  }
  const portText = text.slice(colon + 1);
  const port = Number(portText);
  if (!LISTEN_PORT.test(portText) || port > 65535) {
    return fail(`PORT must be a whole number 0-65535 (0 lets the system choose); ${LISTEN_EXPECTED}`);
  }
  return { ok: true, value: { host: host.host, port, optional: false } };
}

/** The inverse of parseListenAddress: `HOST:PORT`, IPv6 in brackets. */
export function formatListenAddress(listener: Pick<ListenerConfig, 'host' | 'port'>): string {
  return isIPv6(listener.host) ? `[${listener.host}]:${listener.port}` : `${listener.host}:${listener.port}`;
}

/**
 * `PATTERN=ADDRESS[:PORT]`. ADDRESS is a host name, an IPv4 address, `[IPv6]`, or a bare IPv6 address when
 * no port follows (a bare `::1:443` would be ambiguous, so it is read as an address).
 */
export function parseHostMapping(text: string): Parsed<HostMappingConfig> {
  const equals = text.indexOf('=');
  if (equals === -1) return fail(MAPPING_EXPECTED);
  const pattern = parsePattern(text.slice(0, equals));
  if (!pattern.ok) return fail(`PATTERN: ${pattern.message}; ${MAPPING_EXPECTED}`);
  const target = text.slice(equals + 1);

  const bareIPv6 = isIPv6(target) ? canonicalIPv6(target) : undefined;
  if (bareIPv6 !== undefined) return { ok: true, value: { pattern: pattern.pattern, address: bareIPv6, port: undefined } };

  const close = target.lastIndexOf(']');
  const colon = target.lastIndexOf(':');
  const hasPort = colon > close;
  const address = parseHost(hasPort ? target.slice(0, colon) : target);
  if (!address.ok) return fail(`ADDRESS: ${address.message.replace(/^target /, '')}; ${MAPPING_EXPECTED}`);
  const port = hasPort ? parsePort(target.slice(colon + 1)) : undefined;
  if (hasPort && port === undefined) return fail(`PORT must be a whole number 1-65535; ${MAPPING_EXPECTED}`);
  return { ok: true, value: { pattern: pattern.pattern, address: address.host, port } };
}

/** A Log Analytics workspace ID (policy/defaults.ts), with the message a configuration or flag error needs. */
export function parseWorkspaceId(text: string): Parsed<string> {
  const id = workspaceId(text);
  if (id === undefined) return fail('expected a workspace ID (GUID), e.g. 0d4f5e6a-1b2c-4d3e-8f9a-0b1c2d3e4f5a');
  return { ok: true, value: id };
}
