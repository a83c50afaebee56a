// `oms-gateway user add|remove|list`: proxy users (auth.users) or, with --metrics, scrapers of the metrics
// endpoint (metrics.users), stored in the configuration file as scrypt hashes.
import { isMap, isSeq, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { hashPassword } from '../../auth/password.js';
import { editConfigFile } from '../../config/edit.js';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { printTable, readNewPassword } from '../io.js';

const OPTIONS = { config: { type: 'string' }, json: { type: 'boolean' }, metrics: { type: 'boolean' } } as const;

/** Where the users of each kind live in the file. */
type Scope = 'auth' | 'metrics';

export async function user(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parse(`user ${action ?? ''}`.trim(), rest, OPTIONS);
  const path = resolveConfigPath(values.config, process.env);
  const scope: Scope = values.metrics === true ? 'metrics' : 'auth';
  switch (action) {
    case 'list':
      return listUsers(path, scope, values.json === true);
    case 'add':
    case 'remove': {
      const name = positionals[0];
      if (name === undefined || positionals.length > 1) throw new UsageError(`user ${action}: give exactly one user NAME`);
      if (path === undefined) throw new UsageError(`user ${action}: no configuration file: give --config FILE or set OMS_GATEWAY_CONFIG`);
      return action === 'add' ? addUser(path, scope, name) : removeUser(path, scope, name);
    }
    default:
      throw new UsageError('user: expected add, remove or list (see: oms-gateway user --help)');
  }
}

async function addUser(path: string, scope: Scope, name: string): Promise<number> {
  const password = await readNewPassword();
  if (password.length === 0) throw new UsageError('user add: the password is empty');
  const passwordHash = await hashPassword(password);
  let replaced = false;
  const result = await editConfigFile(path, (doc) => {
    // A new or empty file gets Basic auth with its first user; an existing file's mode is the operator's.
    const fresh = scope === 'auth' && (!isMap(doc.contents) || doc.contents.items.length === 0);
    const users = usersOf(doc, scope, true);
    const existing = users.items.find((item) => isMap(item) && item.get('name') === name);
    if (existing !== undefined && isMap(existing)) {
      existing.set('passwordHash', passwordHash);
      replaced = true;
    } else {
      users.add(doc.createNode({ name, passwordHash }));
    }
    if (fresh) doc.setIn(['auth', 'mode'], 'basic');
  }, { create: true });
  process.stdout.write(`${replaced ? 'updated' : 'added'} user "${name}" in ${path}${result.created ? ' (file created)' : ''}\n`);
  if (scope === 'metrics') return 0;
  for (const warning of agentWarnings(password)) process.stderr.write(`warning: ${warning}\n`);
  if (result.config.auth.mode !== 'basic') {
    process.stderr.write(`warning: auth.mode is "${result.config.auth.mode}": set it to "basic" for users to be required\n`);
  }
  return 0;
}

async function removeUser(path: string, scope: Scope, name: string): Promise<number> {
  let found = false;
  await editConfigFile(path, (doc) => {
    const users = usersOf(doc, scope, false);
    const index = users.items.findIndex((item) => isMap(item) && item.get('name') === name);
    if (index >= 0) {
      users.delete(index);
      found = true;
    }
  }, { create: false });
  if (!found) throw new CommandFailed(`user remove: no user "${name}" in ${path}`);
  process.stdout.write(`removed user "${name}" from ${path}\n`);
  return 0;
}

function listUsers(path: string | undefined, scope: Scope, json: boolean): number {
  const config = loadConfig({ path });
  if (scope === 'metrics') {
    const scrapers = config.metrics.users.map((u) => u.name);
    if (json) process.stdout.write(`${JSON.stringify({ users: scrapers })}\n`);
    else process.stdout.write(`${printTable([['METRICS USER'], ...scrapers.map((n) => [n])])}\n(${scrapers.length === 0 ? 'metrics need no credentials' : 'metrics need Basic credentials'})\n`);
    return 0;
  }
  const names = config.auth.users.map((u) => u.name);
  if (json) process.stdout.write(`${JSON.stringify({ mode: config.auth.mode, users: names })}\n`);
  else process.stdout.write(`${printTable([['USER'], ...names.map((n) => [n])])}\n(auth mode: ${config.auth.mode})\n`);
  return 0;
}

function usersOf(doc: Document, scope: Scope, create: boolean): YAMLSeq {
  const users = doc.getIn([scope, 'users']);
  if (isSeq(users)) return users;
  if (!create) return new YAMLSeq();
  if (!isMap(doc.get(scope))) doc.set(scope, new YAMLMap());
  const seq = new YAMLSeq();
  doc.setIn([scope, 'users'], seq);
  return seq;
}

/** The Linux agent's Ruby proxy parser cannot carry some passwords; say so when the user is created. */
function agentWarnings(password: string): string[] {
  const warnings: string[] = [];
  if (password.includes('@')) warnings.push('the Linux agent (proxy.conf / -p) cannot use a password that contains "@"');
  if (/[^\x21-\x7e]/.test(password)) warnings.push('the password has spaces or non-ASCII characters: some agents cannot send it');
  return warnings;
}
