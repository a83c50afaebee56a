// `oms-gateway user add|remove|list`: proxy users (auth.users) or, with --metrics, scrapers of the metrics
// endpoint (metrics.users), stored in the configuration file as scrypt hashes. Edits tell a running
// gateway to reload (edit-command.ts).
import { isMap } from 'yaml';
import { linuxAgentCredentialProblems } from '../../agent-config/linux-agent.js';
import { hashPassword } from '../../auth/password.js';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import { listAt } from '../../config/yaml-lists.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { commitEdit, EDIT_OPTIONS, printOutcome } from '../edit-command.js';
import { printTable, readNewPassword, SHORT_PASSWORD } from '../io.js';

const OPTIONS = { ...EDIT_OPTIONS, metrics: { type: 'boolean' } } as const;

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
      const edit = { json: values.json === true, pidFile: values['pid-file'] };
      return action === 'add' ? addUser(path, scope, name, edit) : removeUser(path, scope, name, edit);
    }
    default:
      throw new UsageError('user: expected add, remove or list (see: oms-gateway user --help)');
  }
}

interface EditFlags {
  readonly json: boolean;
  readonly pidFile: string | undefined;
}

async function addUser(path: string, scope: Scope, name: string, flags: EditFlags): Promise<number> {
  const password = await readNewPassword();
  if (password.length === 0) throw new UsageError('user add: the password is empty');
  const passwordHash = await hashPassword(password);
  let replaced = false;
  const committed = await commitEdit(path, (doc) => {
    // A new or empty file gets Basic auth with its first user; an existing file's mode is the operator's.
    const fresh = scope === 'auth' && (!isMap(doc.contents) || doc.contents.items.length === 0);
    const users = listAt(doc, [scope, 'users'], true);
    const existing = users?.items.find((item) => isMap(item) && item.get('name') === name);
    if (existing !== undefined && isMap(existing)) {
      existing.set('passwordHash', passwordHash);
      replaced = true;
    } else {
      users?.add(doc.createNode({ name, passwordHash }));
    }
    if (fresh) doc.setIn(['auth', 'mode'], 'basic');
  }, { create: true, pidFile: flags.pidFile });
  // The Linux agent's Ruby proxy parser cannot carry some names and passwords; say so when the user is made.
  const warnings = scope === 'metrics' ? [] : linuxAgentCredentialProblems(name, password);
  if ([...password].length < SHORT_PASSWORD) warnings.push(`the password is shorter than ${SHORT_PASSWORD} characters: a longer one resists guessing`);
  if (scope === 'auth' && committed.config.auth.mode !== 'basic') {
    warnings.push(`auth.mode is "${committed.config.auth.mode}": set it to "basic" for users to be required`);
  }
  const action = replaced ? 'updated' : 'added';
  printOutcome(flags.json, `${action} user "${name}" in ${path}`, { action, user: name, scope, warnings }, path, committed);
  if (!flags.json) for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  return 0;
}

async function removeUser(path: string, scope: Scope, name: string, flags: EditFlags): Promise<number> {
  const committed = await commitEdit(path, (doc) => {
    const users = listAt(doc, [scope, 'users'], false);
    const index = users?.items.findIndex((item) => isMap(item) && item.get('name') === name) ?? -1;
    if (index < 0) throw new CommandFailed(`user remove: no user "${name}" in ${path}`);
    users?.delete(index);
  }, { create: false, pidFile: flags.pidFile });
  printOutcome(flags.json, `removed user "${name}" from ${path}`, { action: 'removed', user: name, scope }, path, committed);
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
