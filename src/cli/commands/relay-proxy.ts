// `oms-gateway relay-proxy set URL [--username NAME] [--password-stdin] | get | clear`
// (Get-/Set-OMSGatewayRelayProxy): the parent proxy outbound tunnels go through. Its password is sent to the
// parent, so it is stored as given, in the configuration file (which is then written with mode 0600); it is
// read from standard input or a prompt, never from the command line, and never printed.
import { resolve } from 'node:path';
import { parseParentUrl } from '../../config/parent-url.js';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import type { ParentProxyConfig } from '../../config/types.js';
import { setValue } from '../../config/yaml-lists.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { commitEdit, configBeforeEdit, configPathFor, EDIT_OPTIONS, printOutcome } from '../edit-command.js';
import { printTable, readNewPassword, readPasswordFromStdin } from '../io.js';

const KEY = 'relayProxy';

const SET_OPTIONS = {
  ...EDIT_OPTIONS,
  username: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  bypass: { type: 'string', multiple: true },
  'no-bypass': { type: 'boolean' },
  'ca-file': { type: 'string' },
} as const;

/** What `get` shows: everything but the password, which is only said to be there. */
export function describeParent(parent: ParentProxyConfig | undefined): Record<string, unknown> {
  if (parent === undefined) return { configured: false };
  return {
    configured: true,
    url: parent.url,
    username: parent.username ?? null,
    password: parent.password === undefined ? 'none' : 'stored',
    bypass: parent.bypass,
    caFile: parent.caFile ?? null,
  };
}

async function password(username: string | undefined, fromStdin: boolean): Promise<string | undefined> {
  if (username === undefined) {
    if (fromStdin) throw new UsageError('relay-proxy set: --password-stdin needs --username NAME');
    return undefined;
  }
  if (!fromStdin && !process.stdin.isTTY) {
    throw new UsageError('relay-proxy set: --username needs a password: pipe it in with --password-stdin');
  }
  const text = fromStdin ? await readPasswordFromStdin() : await readNewPassword();
  if (text.length === 0) throw new UsageError('relay-proxy set: the password is empty');
  return text;
}

async function set(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('relay-proxy set', args, SET_OPTIONS);
  if (positionals.length !== 1) throw new UsageError('relay-proxy set: give exactly one URL, e.g. http://proxy.corp.example:3128');
  const url = parseParentUrl(positionals[0] ?? '');
  if (!url.ok) throw new UsageError(`relay-proxy set: ${url.message}`);
  if (values.bypass !== undefined && values['no-bypass'] === true) throw new UsageError('relay-proxy set: give --bypass or --no-bypass, not both');
  const path = configPathFor('relay-proxy set', values.config);
  configBeforeEdit(path);
  const secret = await password(values.username, values['password-stdin'] === true);
  const committed = await commitEdit(path, (doc) => {
    setValue(doc, [KEY, 'url'], url.value.url);
    if (values.username === undefined) {
      doc.deleteIn([KEY, 'username']);
      doc.deleteIn([KEY, 'password']);
    } else {
      setValue(doc, [KEY, 'username'], values.username);
      setValue(doc, [KEY, 'password'], secret);
    }
    if (values['no-bypass'] === true) doc.deleteIn([KEY, 'bypass']);
    if (values.bypass !== undefined) setValue(doc, [KEY, 'bypass'], values.bypass);
    if (values['ca-file'] !== undefined) setValue(doc, [KEY, 'caFile'], resolve(values['ca-file']));
  }, { create: true, pidFile: values['pid-file'] });
  const credentials = values.username === undefined ? 'without credentials' : `as user "${values.username}" (password stored in the file, mode 0600)`;
  printOutcome(values.json === true, `relay proxy set to ${url.value.url} ${credentials} in ${path}`, { action: 'set', relayProxy: describeParent(committed.config.relayProxy) }, path, committed);
  return 0;
}

function get(args: readonly string[]): number {
  const { values, positionals } = parse('relay-proxy get', args, { config: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('relay-proxy get: takes no arguments');
  const shown = describeParent(loadConfig({ path: resolveConfigPath(values.config, process.env) }).relayProxy);
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(shown)}\n`);
  } else if (shown.configured === false) {
    process.stdout.write('no relay proxy: tunnels go directly to their targets\n');
  } else {
    const rows = Object.entries(shown).filter(([name]) => name !== 'configured').map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value ?? '')]);
    process.stdout.write(`${printTable([['SETTING', 'VALUE'], ...rows])}\n`);
  }
  return 0;
}

async function clear(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('relay-proxy clear', args, EDIT_OPTIONS);
  if (positionals.length > 0) throw new UsageError('relay-proxy clear: takes no arguments');
  const path = configPathFor('relay-proxy clear', values.config);
  if (configBeforeEdit(path).relayProxy === undefined) {
    printOutcome(values.json === true, `no relay proxy is set in ${path}; nothing changed`, { action: 'none' }, path);
    return 0;
  }
  const committed = await commitEdit(path, (doc) => {
    if (!doc.deleteIn([KEY])) throw new CommandFailed(`relay-proxy clear: ${path} has no relayProxy key`);
  }, { create: false, pidFile: values['pid-file'] });
  printOutcome(values.json === true, `relay proxy removed from ${path}: tunnels go directly to their targets`, { action: 'cleared' }, path, committed);
  return 0;
}

export async function relayProxy(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'set':
      return set(rest);
    case 'get':
      return get(rest);
    case 'clear':
      return clear(rest);
    default:
      throw new UsageError('relay-proxy: expected set, get or clear (see: oms-gateway relay-proxy --help)');
  }
}
