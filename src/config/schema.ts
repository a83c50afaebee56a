// The shape of oms-gateway.yaml. Every key is optional and carries its default here, so an empty file, the
// embedded default and config/oms-gateway.example.yaml all resolve through this one table. Objects are strict
// (a misspelt key is an error, not a silently ignored setting) and string forms go through the same parsers
// the policy uses at run time. Messages say what was expected and never repeat the value: some are secrets.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { isPasswordHash } from '../auth/password.js';
import { parseCidr } from '../policy/addresses.js';
import { DEFAULT_DENIED_ADDRESSES } from '../policy/defaults.js';
import { parseAllowEntry, parsePattern } from '../policy/patterns.js';
import { didYouMean } from './suggest.js';
import { ARC_GATEWAY_SUFFIX, coversArcGateways, DEFAULT_AGENTS, parseArcGateway } from '../policy/presets.js';
import { parseRegionName } from '../policy/regions.js';
import { LISTEN_EXPECTED, parseHostMapping, parseListenAddress, parseWorkspaceId, type Parsed } from './forms.js';
import { readCertificateFile } from './pem-file.js';
import { readUsersFile } from './users-file.js';
import { parseParentUrl } from './parent-url.js';
import { TLS_VERSIONS } from '../tls/clienthello.js';
import { DEFAULT_CIPHERS, isCipherList } from '../tls/material.js';
import { parseSubjectPattern } from '../tls/subjects.js';
import type { ListenerConfig, WorkersSetting, LogFormat } from './types.js';
import { AGENTS, CLOUDS, type AllowEntryConfig, type PolicyMode } from '../policy/config-types.js';

export const AUTH_MODES = ['anonymous', 'basic'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const satisfies readonly LogFormat[];
export const POLICY_MODES = ['enforce', 'report'] as const satisfies readonly PolicyMode[];

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
  const names = Object.keys(shape);
  const keys = names.join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return 'expected a mapping of settings';
      // Each unknown key becomes its own issue (issues.ts); a suggestion is only right for a single one.
      const [only, ...more] = issue.keys;
      return `unknown key${only !== undefined && more.length === 0 ? didYouMean(only, names) : ''}; expected one of: ${keys}`;
    },
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

/** Like seconds(), where 0 switches the timeout off. */
function secondsOrOff(max: number) {
  const error = `expected a number of seconds from 0 (off) to ${max}`;
  return z.number({ error }).min(0, { error }).max(max, { error });
}

function textOf(check: (text: string) => boolean, error: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `required: ${error}` : error) }).refine(check, { error });
}

export const listenEntry = parsedString(parseListenAddress, 'HOST:PORT');
export const mappingEntry = parsedString(parseHostMapping, 'PATTERN=ADDRESS[:PORT]');
export const authModeSchema = oneOf(AUTH_MODES);
export const logLevelSchema = oneOf(LOG_LEVELS);
export const logFormatSchema = oneOf(LOG_FORMATS);
export const WORKER_SCHEDULING = ['round-robin', 'kernel'] as const;

/** A wildcard over every tenant's Arc gateway would let any of them carry data out (policy/presets.ts). */
const ARC_GATEWAY_WILDCARD = `a wildcard over *.${ARC_GATEWAY_SUFFIX} would let any tenant's Arc gateway carry data out; list your own gateway's address under arcGateways (with agents: [arc-gateway]), or name exact hosts`;

export function allowEntry(source: string) {
  return parsedString((text): Parsed<AllowEntryConfig> => {
    const result = parseAllowEntry(text, source);
    if (result.ok && coversArcGateways(result.entry.pattern)) return { ok: false, message: ARC_GATEWAY_WILDCARD };
    return result.ok ? { ok: true, value: result.entry } : result;
  }, 'pattern[:port[,port...]]');
}

const arcGatewayEntry = parsedString((text): Parsed<string> => {
  const result = parseArcGateway(text);
  return result.ok ? { ok: true, value: result.host } : result;
}, `<prefix>.${ARC_GATEWAY_SUFFIX}`);

const patternEntry = parsedString((text): Parsed<string> => {
  const result = parsePattern(text);
  return result.ok ? { ok: true, value: result.pattern } : result;
}, 'a host pattern');

export const cidrEntry = parsedString((text): Parsed<string> => {
  const result = parseCidr(text);
  return result.ok ? { ok: true, value: result.cidr } : result;
}, 'an address range (CIDR)');

export const PROXY_PROTOCOL_DEFAULTS = { required: false, headerTimeoutSeconds: 5, maxHeaderBytes: 1024 } as const;

const proxyProtocol = strictObject({
  trusted: list(cidrEntry, 'address ranges (CIDR) of the load balancers').min(1, { error: 'expected at least one address range (CIDR) of a load balancer' }),
  required: z.boolean({ error: 'expected true or false' }).default(PROXY_PROTOCOL_DEFAULTS.required),
  headerTimeoutSeconds: seconds(60).default(PROXY_PROTOCOL_DEFAULTS.headerTimeoutSeconds),
  // 232: a v2 header with UNIX addresses; 65551: the largest length field plus the fixed 16 bytes.
  maxHeaderBytes: integer(232, 65_551).default(PROXY_PROTOCOL_DEFAULTS.maxHeaderBytes),
});

/** A certificate subject (tls/subjects.ts), kept as written. */
const subjectEntry = parsedString((text): Parsed<string> => {
  const result = parseSubjectPattern(text);
  return result.ok ? { ok: true, value: result.pattern.text } : result;
}, 'a certificate subject');

/** A file of the TLS settings: relative to the working directory, stored absolute. */
export const tlsFileEntry = textOf((path) => path.trim() !== '', 'expected a file path').transform((path) => resolvePath(path));
const ALLOWANCES = ['allow', 'refuse'] as const;

const clientAuth = strictObject({
  ca: tlsFileEntry,
  subjects: list(subjectEntry, 'certificate subjects').default([]),
  mode: oneOf(['alternative', 'required']).default('alternative'),
});

/** `tls: true` is shorthand for `tls: {}`: every default, files under certs/. */
export const listenerTlsSchema = z.preprocess(
  (value) => (value === true ? {} : value),
  strictObject({
    cert: tlsFileEntry.prefault('certs/gateway.crt'),
    key: tlsFileEntry.prefault('certs/gateway.key'),
    minVersion: oneOf(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
    ciphers: textOf(isCipherList, 'expected an OpenSSL cipher list with at least one known suite, e.g. ECDHE-RSA-AES128-GCM-SHA256').default(DEFAULT_CIPHERS),
    requireTls: z.boolean({ error: 'expected true or false' }).default(false),
    plainBasicAuth: oneOf(ALLOWANCES).default('allow'),
    clientAuth: clientAuth.optional(),
    reloadCheckSeconds: seconds(3_600).default(10),
  }),
);

const inspection = strictObject({
  enabled: z.boolean({ error: 'expected true or false' }).default(true),
  minVersion: oneOf(Object.keys(TLS_VERSIONS) as [keyof typeof TLS_VERSIONS, ...(keyof typeof TLS_VERSIONS)[]]).default('TLSv1.2'),
  missingSni: oneOf(ALLOWANCES).default('allow'),
  timeoutSeconds: seconds(300).default(10),
  maxHandshakeBytes: integer(4_096, 1_048_576).default(65_536),
  // Real handshakes use a handful of records per direction; see config/oms-gateway.example.yaml.
  maxHandshakeRecords: integer(16, 65_536).default(1_024),
  hiddenClientCertificates: oneOf(ALLOWANCES).default('refuse'),
});

const listenObject = strictObject({ address: listenEntry, proxyProtocol: proxyProtocol.optional(), tls: listenerTlsSchema.optional() });

/** A listener: `HOST:PORT`, or a mapping `{address: HOST:PORT, ...}` with per-listener options. */
const listener = z.unknown().transform((value, ctx): ListenerConfig => {
  if (typeof value !== 'string' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    ctx.issues.push({ code: 'custom', message: `${LISTEN_EXPECTED}, or a mapping {address: HOST:PORT, proxyProtocol: ..., tls: ...}`, input: value });
    return z.NEVER;
  }
  const result = typeof value === 'string' ? listenEntry.safeParse(value) : listenObject.safeParse(value);
  if (!result.success) {
    // Nested issues keep their own path below this entry (listen[0].proxyProtocol.trusted[1]) and their keys.
    for (const issue of result.error.issues) ctx.issues.push(issue as z.core.$ZodRawIssue);
    return z.NEVER;
  }
  if (!('address' in result.data)) return result.data;
  const { address, proxyProtocol: protocol, tls } = result.data;
  return { ...address, ...(protocol === undefined ? {} : { proxyProtocol: protocol }), ...(tls === undefined ? {} : { tls }) };
});

/** `cloud: public` is shorthand for `cloud: [public]`. */
const clouds = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  list(oneOf(CLOUDS), 'clouds').min(1, { error: `expected at least one of: ${CLOUDS.join(', ')}` }),
);

/** `agents: ama` is shorthand for `agents: [ama]`; an empty list leaves only operator entries. */
const agents = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  list(oneOf(AGENTS), `agent presets (${AGENTS.join(', ')})`),
);

export const agentsEntry = oneOf(AGENTS);
export const policyModeSchema = oneOf(POLICY_MODES);

const regionEntry = parsedString((text): Parsed<string> => {
  const result = parseRegionName(text);
  return result.ok ? { ok: true, value: result.region } : result;
}, 'an Azure region name');

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
  usersFile: parsedString((path) => readUsersFile(path, user), 'an absolute file path').optional(),
  cacheMaxEntries: integer(1, 1_000_000).default(10_000),
  cacheTtlSeconds: integer(1, 86_400).default(300),
  throttle: strictObject({
    failuresBeforeDelay: integer(0, 1_000).default(3),
    delaySeconds: seconds(60).default(0.5),
    maxDelaySeconds: seconds(60).default(8),
    lockoutFailures: integer(0, 100_000).default(10),
    lockoutSeconds: seconds(86_400).default(300),
    windowSeconds: seconds(86_400).default(900),
    maxTracked: integer(1, 1_000_000).default(10_000),
    maxConcurrentPerClient: integer(0, 100_000).default(4),
    maxConcurrentPerUser: integer(0, 100_000).default(4),
    trustedSources: list(cidrEntry, 'address ranges (CIDR) of trusted clients').default([]),
    knownSourceSeconds: secondsOrOff(604_800).default(86_400),
  }).prefault({}),
});

/** A per-source rule's name: it appears in audit records and `config check`. */
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const clientRule = strictObject({
  name: textOf((name) => RULE_NAME.test(name), 'expected a name of 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit').optional(),
  from: z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    list(cidrEntry, 'address ranges (CIDR)').min(1, { error: 'expected at least one address range, e.g. 10.20.0.0/16' }),
  ),
  auth: authModeSchema.optional(),
  agents: agents.optional(),
});

const timeouts = strictObject({
  connectSeconds: seconds(300).default(10),
  requestHeadSeconds: seconds(300).default(30),
  shutdownGraceSeconds: seconds(3_600).default(30),
  drainDelaySeconds: secondsOrOff(300).default(0),
  keepAliveSeconds: integer(1, 3_600).default(60),
  tunnelIdleSeconds: secondsOrOff(604_800).default(3_600),
  tunnelHalfClosedSeconds: secondsOrOff(604_800).default(60),
  tunnelMaxSeconds: secondsOrOff(604_800).default(0),
  authSeconds: seconds(300).default(10),
  // RFC 8305 §8: at least 10 ms, at most 2 s, 250 ms recommended.
  connectAttemptDelaySeconds: z.number({ error: 'expected a number of seconds from 0.01 to 2' })
    .min(0.01, { error: 'expected a number of seconds from 0.01 to 2' })
    .max(2, { error: 'expected a number of seconds from 0.01 to 2' })
    .default(0.25),
});

const dns = strictObject({
  cacheMaxEntries: integer(0, 1_000_000).default(10_000),
  minTtlSeconds: integer(0, 86_400).default(10),
  maxTtlSeconds: integer(1, 86_400).default(300),
  negativeTtlSeconds: integer(0, 3_600).default(5),
});

const MAX_WORKERS = 256;
const WORKERS_ERROR = `expected auto or a whole number from 1 to ${MAX_WORKERS}`;

function parseWorkers(value: string | number): Parsed<WorkersSetting> {
  if (value === 'auto') return { ok: true, value };
  const count = typeof value === 'number' ? value : /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isInteger(count) && count >= 1 && count <= MAX_WORKERS ? { ok: true, value: count } : { ok: false, message: WORKERS_ERROR };
}

/** `auto` or 1-256 worker processes; the flag's text goes through the same check. */
const workersSchema = z.union([z.string(), z.number()], { error: WORKERS_ERROR }).transform((value, ctx): WorkersSetting => {
  const result = parseWorkers(value);
  if (result.ok) return result.value;
  ctx.issues.push({ code: 'custom', message: result.message, input: value });
  return z.NEVER;
});
export const workersFlagSchema = parsedString(parseWorkers, 'auto or a number of workers');

const limits = strictObject({
  maxConnections: integer(1, 1_000_000).default(10_000),
  maxConnectionsPerClient: integer(0, 1_000_000).default(1_000),
  maxTunnelsPerUser: integer(0, 1_000_000).default(0),
  maxPendingAuthentications: integer(1, 100_000).default(128),
  maxRequestTargetBytes: integer(64, 65_536).default(4_096),
  maxHeaderCount: integer(8, 1_000).default(100),
  maxHeaderBytes: integer(1_024, 1_048_576).default(16_384),
});

/** The parent proxy's password is sent to it, so it is stored as given (in a file of mode 0600), never hashed. */
const PARENT_PASSWORD_MAX = 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;

const parentProxy = strictObject({
  url: parsedString(parseParentUrl, 'http://HOST:PORT'),
  username: textOf(
    (name) => [...name].length >= 1 && [...name].length <= USER_NAME_MAX && !USER_NAME_FORBIDDEN.test(name),
    `expected a user name of 1-${USER_NAME_MAX} characters without ':' or control characters`,
  ).optional(),
  password: textOf(
    (password) => password.length >= 1 && password.length <= PARENT_PASSWORD_MAX && !CONTROL.test(password),
    `expected a password of 1-${PARENT_PASSWORD_MAX} characters without control characters; set it with \`oms-gateway relay-proxy set URL --username NAME --password-stdin\``,
  ).optional(),
  bypass: list(patternEntry, 'host patterns reached directly, not through the relay').default([]),
  caFile: parsedString(readCertificateFile, 'a file path').optional(),
});

/** Loopback only by default: the metrics and health endpoints are for the host's own scraper unless opened up. */
const DEFAULT_METRICS_LISTENER: ListenerConfig = { host: '127.0.0.1', port: 9464, optional: false };
/** RFC 3986 path characters; the health paths are fixed and cannot be taken. */
const METRICS_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,255}$/;
const absolutePath = (example: string) => textOf(isAbsolute, `expected an absolute path, e.g. ${example}`);

const log = strictObject({
  level: logLevelSchema.default('info'),
  format: logFormatSchema.default('json'),
  file: absolutePath('/var/log/oms-gateway/oms-gateway.log').optional(),
  // Below sonic-boom's largest single write (16 KiB).
  bufferBytes: integer(0, 16_000).default(0),
});

const metrics = strictObject({
  enabled: z.boolean({ error: 'expected true or false' }).default(true),
  listen: listenEntry.default(DEFAULT_METRICS_LISTENER),
  path: textOf(
    (path) => METRICS_PATH.test(path) && path !== '/healthz' && path !== '/readyz',
    'expected a path such as /metrics (not /healthz or /readyz)',
  ).default('/metrics'),
  users: list(user, 'users (name, passwordHash)').default([]),
  tls: strictObject({
    cert: absolutePath('/etc/oms-gateway/certs/gateway.crt'),
    key: absolutePath('/etc/oms-gateway/certs/gateway.key'),
  }).optional(),
  workspaceLabels: z.boolean({ error: 'expected true or false' }).default(false),
  maxWorkspaces: integer(1, 100_000).default(200),
  maxEventLoopDelaySeconds: seconds(600).default(5),
  // One period of the kubelet's default liveness probe (10 s): each such probe sees a stall once, so a
  // single stall fails one probe and only recurring ones reach failureThreshold.
  stallReportSeconds: seconds(600).default(10),
});

/** https://HOST[:PORT]/PATH: the probe speaks TLS to the control service, as the agents do. */
function parseProbeUrl(text: string): Parsed<string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, message: 'expected a URL such as https://global.handler.control.monitor.azure.com/ping' };
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.hash !== '') {
    return { ok: false, message: 'expected https://HOST[:PORT]/PATH, without credentials or fragment' };
  }
  return { ok: true, value: url.href };
}

const upstreamProbe = strictObject({
  enabled: z.boolean({ error: 'expected true or false' }).default(false),
  url: parsedString(parseProbeUrl, 'an https:// URL').optional(),
  expect: textOf((text) => text.length >= 1 && text.length <= 256 && !CONTROL.test(text), 'expected 1-256 characters of text the answer must contain').default('Healthy'),
  intervalSeconds: integer(5, 3600).default(30),
  timeoutSeconds: integer(1, 60).default(10),
  failuresBeforeUnready: integer(0, 100).default(3),
  caFile: parsedString(readCertificateFile, 'a file path').optional(),
});

const reload = strictObject({
  closeDeniedTunnels: z.boolean({ error: 'expected true or false' }).default(false),
  debounceSeconds: seconds(60).default(0.5),
});

const fileShape = strictObject({
  listen: list(listener, 'HOST:PORT').min(1, { error: 'expected at least one HOST:PORT' }).default(DEFAULT_LISTENERS),
  cloud: clouds.default(['public']),
  defaultHosts: z.boolean({ error: 'expected true or false' }).default(true),
  disabledDefaultHosts: list(patternEntry, 'built-in host patterns').default([]),
  allowedHosts: list(allowEntry('operator'), 'pattern[:port[,port...]] entries').default([]),
  arcGateways: list(arcGatewayEntry, `Arc gateway addresses (<prefix>.${ARC_GATEWAY_SUFFIX})`).default([]),
  workspaces: list(parsedString(parseWorkspaceId, 'a workspace ID'), 'workspace IDs').default([]),
  agents: agents.default([...DEFAULT_AGENTS]),
  regions: list(regionEntry, 'Azure region names').default([]),
  policy: strictObject({ mode: policyModeSchema.default('enforce') }).prefault({}),
  deniedAddresses: list(cidrEntry, 'address ranges (CIDR)').default([...DEFAULT_DENIED_ADDRESSES]),
  resolve: list(mappingEntry, 'PATTERN=ADDRESS[:PORT] mappings').default([]),
  auth: auth.prefault({}),
  clients: list(clientRule, 'per-source rules ({from, auth, agents})').default([]),
  timeouts: timeouts.prefault({}),
  limits: limits.prefault({}),
  log: log.prefault({}),
  metrics: metrics.prefault({}),
  pidFile: textOf(isAbsolute, 'expected an absolute path, e.g. /run/oms-gateway/oms-gateway.pid').optional(),
  watch: z.boolean({ error: 'expected true or false' }).default(false),
  reload: reload.prefault({}),
  relayProxy: parentProxy.optional(),
  upstreamProbe: upstreamProbe.prefault({}),
  allowedClientCertificates: list(subjectEntry, 'certificate subjects').default([]),
  inspection: inspection.prefault({}),
  workers: workersSchema.default('auto'),
  workerScheduling: oneOf(WORKER_SCHEDULING).default('round-robin'),
  dns: dns.prefault({}),
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
  if (file.dns.minTtlSeconds > file.dns.maxTtlSeconds) {
    add(['dns', 'minTtlSeconds'], `the floor is above dns.maxTtlSeconds (${file.dns.maxTtlSeconds}); keep minTtlSeconds ≤ maxTtlSeconds`);
  }
  for (const [index, earlier] of duplicates(file.listen, listenerKey)) {
    add(['listen', index], `same address as listen[${earlier}]; each listener needs its own HOST:PORT`);
  }
  file.listen.forEach((listener, index) => {
    if (listener.tls?.clientAuth?.mode === 'required' && !listener.tls.requireTls) {
      add(['listen', index, 'tls', 'requireTls'], 'clientAuth.mode required needs requireTls: true, since a plain connection cannot carry a certificate');
    }
  });
  for (const [index, earlier] of duplicates(file.resolve, (mapping) => mapping.pattern)) {
    add(['resolve', index], `same PATTERN as resolve[${earlier}]; map each pattern once`);
  }
  for (const [index, earlier] of duplicates(file.auth.users, (u) => u.name)) {
    add(['auth', 'users', index, 'name'], `same name as auth.users[${earlier}]; user names must be unique`);
  }
  const inFile = new Set(file.auth.usersFile?.users.map((u) => u.name));
  file.auth.users.forEach((u, index) => {
    if (inFile.has(u.name)) add(['auth', 'users', index, 'name'], 'also in auth.usersFile; keep each user in one place');
  });
  file.clients.forEach((rule, index) => {
    if (rule.auth === undefined && rule.agents === undefined) add(['clients', index], 'a rule needs auth, agents or both; without them it changes nothing');
  });
  for (const [index, earlier] of duplicates(file.clients, (rule) => rule.name ?? rule.from[0])) {
    add(['clients', index, 'name'], `same name as clients[${earlier}] (a rule without a name is named by its first range); give each rule its own name`);
  }
  for (const [index, earlier] of duplicates(file.metrics.users, (u) => u.name)) {
    add(['metrics', 'users', index, 'name'], `same name as metrics.users[${earlier}]; user names must be unique`);
  }
  const parent = file.relayProxy;
  if (parent !== undefined && (parent.username === undefined) !== (parent.password === undefined)) {
    const missing = parent.username === undefined ? 'username' : 'password';
    add(['relayProxy', missing], 'username and password go together; set both with `oms-gateway relay-proxy set URL --username NAME --password-stdin`');
  }
});

export type ConfigFile = z.output<typeof configFileSchema>;
