// The shape of oms-gateway.yaml. Every key is optional and carries its default here, so an empty file, the
// embedded default and config/oms-gateway.example.yaml all resolve through this one table. Objects are strict
// (a misspelt key is an error, not a silently ignored setting) and string forms go through the same parsers
// the policy uses at run time. Messages say what was expected and never repeat the value: some are secrets.

import { z } from 'zod';
import { isPasswordHash } from '../auth/password.js';
import { parseCidr } from '../policy/addresses.js';
import { DEFAULT_DENIED_ADDRESSES, defaultAllowEntries } from '../policy/defaults.js';
import { parseAllowEntry, parsePattern } from '../policy/patterns.js';
import { parseHostMapping, parseListenAddress, parseWorkspaceId, type Parsed } from './forms.js';
import type { AllowEntryConfig, Cloud, ListenerConfig } from './types.js';

export const CLOUDS = ['public', 'usgov', 'china'] as const satisfies readonly Cloud[];
export const AUTH_MODES = ['anonymous', 'basic'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Dual-stack by default; the IPv6 listener is skipped on hosts without IPv6 instead of failing the start. */
const DEFAULT_LISTENERS: ListenerConfig[] = [
  { host: '0.0.0.0', port: 8080, optional: false },
  { host: '::', port: 8080, optional: true },
];

const USER_NAME_MAX = 256;
/** Control characters (C0, DEL, C1) and ':' cannot appear in a Basic user-id (RFC 7617 §2). */
const USER_NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f:]/;
/** The realm is sent inside a quoted-string of Proxy-Authenticate; keep it to visible ASCII that needs no escaping. */
const REALM = /^[\u0020\u0021\u0023-\u005b\u005d-\u007e]{1,128}$/;

function strictObject<T extends z.ZodRawShape>(shape: T) {
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key; expected one of: ${keys}` : 'expected a mapping of settings',
  });
}

function list<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, { error: `expected a list of ${what}` });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of: ${values.join(', ')}` });
}

/** A string turned into a value by one of the shared parsers; their message becomes the issue. */
function parsedString<T>(parse: (text: string) => Parsed<T>, what: string) {
  return z.string({ error: `expected ${what} as a string` }).transform((text, ctx): T => {
    const result = parse(text);
    if (result.ok) return result.value;
    ctx.issues.push({ code: 'custom', message: result.message, input: text });
    return z.NEVER;
  });
}

function integer(min: number, max: number) {
  const error = `expected a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** Fractions are allowed so tests can use sub-second timeouts; zero would mean "no timeout", which is not offered. */
function seconds(max: number) {
  const error = `expected a number of seconds greater than 0 and at most ${max}`;
  return z.number({ error }).positive({ error }).max(max, { error });
}

function textOf(check: (text: string) => boolean, error: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `required: ${error}` : error) }).refine(check, { error });
}

export const listenEntry = parsedString(parseListenAddress, 'HOST:PORT');
export const mappingEntry = parsedString(parseHostMapping, 'PATTERN=ADDRESS[:PORT]');
export const authModeSchema = oneOf(AUTH_MODES);
export const logLevelSchema = oneOf(LOG_LEVELS);

export function allowEntry(source: string) {
  return parsedString((text): Parsed<AllowEntryConfig> => {
    const result = parseAllowEntry(text, source);
    return result.ok ? { ok: true, value: result.entry } : result;
  }, 'pattern[:port[,port...]]');
}

const patternEntry = parsedString((text): Parsed<string> => {
  const result = parsePattern(text);
  return result.ok ? { ok: true, value: result.pattern } : result;
}, 'a host pattern');

const cidrEntry = parsedString((text): Parsed<string> => {
  const result = parseCidr(text);
  return result.ok ? { ok: true, value: result.cidr } : result;
}, 'an address range (CIDR)');

/** `cloud: public` is shorthand for `cloud: [public]`. */
const clouds = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  list(oneOf(CLOUDS), 'clouds').min(1, { error: `expected at least one of: ${CLOUDS.join(', ')}` }),
);

const user = strictObject({
  name: textOf(
    (name) => [...name].length >= 1 && [...name].length <= USER_NAME_MAX && !USER_NAME_FORBIDDEN.test(name),
    `expected a user name of 1-${USER_NAME_MAX} characters without ':' or control characters`,
  ),
  passwordHash: textOf(isPasswordHash, 'expected a hash written by `oms-gateway user add` (scrypt$N$r$p$salt$hash)'),
});

const auth = strictObject({
  mode: authModeSchema.default('anonymous'),
  realm: textOf((realm) => REALM.test(realm), 'expected 1-128 visible ASCII characters without " or \\').default('oms-gateway'),
  users: list(user, 'users (name, passwordHash)').default([]),
  cacheMaxEntries: integer(1, 1_000_000).default(10_000),
  cacheTtlSeconds: integer(1, 86_400).default(300),
});

const timeouts = strictObject({
  connectSeconds: seconds(300).default(10),
  requestHeadSeconds: seconds(300).default(30),
  shutdownGraceSeconds: seconds(3_600).default(30),
  keepAliveSeconds: integer(1, 3_600).default(60),
});

const fileShape = strictObject({
  listen: list(listenEntry, 'HOST:PORT').min(1, { error: 'expected at least one HOST:PORT' }).default(DEFAULT_LISTENERS),
  cloud: clouds.default(['public']),
  defaultHosts: z.boolean({ error: 'expected true or false' }).default(true),
  disabledDefaultHosts: list(patternEntry, 'built-in host patterns').default([]),
  allowedHosts: list(allowEntry('operator'), 'pattern[:port[,port...]] entries').default([]),
  workspaces: list(parsedString(parseWorkspaceId, 'a workspace ID'), 'workspace IDs').default([]),
  deniedAddresses: list(cidrEntry, 'address ranges (CIDR)').default([...DEFAULT_DENIED_ADDRESSES]),
  resolve: list(mappingEntry, 'PATTERN=ADDRESS[:PORT] mappings').default([]),
  auth: auth.prefault({}),
  timeouts: timeouts.prefault({}),
  log: strictObject({ level: logLevelSchema.default('info') }).prefault({}),
});

/** [index, index of the first earlier element with the same key] for each repeat; undefined keys never repeat. */
export function duplicates<T>(items: readonly T[], keyOf: (item: T) => string | undefined): [number, number][] {
  const first = new Map<string, number>();
  const found: [number, number][] = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (key === undefined) return;
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    else found.push([index, earlier]);
  });
  return found;
}

/** Two listeners on one address cannot both bind; port 0 picks a fresh port each time, so it never clashes. */
export function listenerKey(listener: ListenerConfig): string | undefined {
  return listener.port === 0 ? undefined : `[${listener.host}]:${listener.port}`;
}

/** Rules that span several keys of the file; rules that involve command-line flags are in build.ts. */
export const configFileSchema = fileShape.superRefine((file, ctx) => {
  const add = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message });
  };
  const builtIn = new Set(file.cloud.flatMap((cloud) => defaultAllowEntries(cloud).map((entry) => entry.pattern)));
  file.disabledDefaultHosts.forEach((pattern, index) => {
    if (!builtIn.has(pattern)) {
      const expected = [...builtIn].join(', ');
      add(['disabledDefaultHosts', index], `not a built-in host of cloud ${file.cloud.join(', ')}; expected one of: ${expected}`);
    }
  });
  for (const [index, earlier] of duplicates(file.listen, listenerKey)) {
    add(['listen', index], `same address as listen[${earlier}]; each listener needs its own HOST:PORT`);
  }
  for (const [index, earlier] of duplicates(file.resolve, (mapping) => mapping.pattern)) {
    add(['resolve', index], `same PATTERN as resolve[${earlier}]; map each pattern once`);
  }
  for (const [index, earlier] of duplicates(file.auth.users, (u) => u.name)) {
    add(['auth', 'users', index, 'name'], `same name as auth.users[${earlier}]; user names must be unique`);
  }
});

export type ConfigFile = z.output<typeof configFileSchema>;
