// `oms-gateway allowed-client-cert add|remove|list --subject SUBJECT`
// (Add-/Remove-/Get-OMSGatewayAllowedClientCertificate): the allowedClientCertificates list of subjects.
// This command only edits the list; the TLS inspection of tunnels decides how a subject is matched.
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import { itemText, listAt } from '../../config/yaml-lists.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { commitEdit, configBeforeEdit, configPathFor, EDIT_OPTIONS, printOutcome } from '../edit-command.js';
import { printTable } from '../io.js';

const KEY = 'allowedClientCertificates';
const OPTIONS = { ...EDIT_OPTIONS, subject: { type: 'string' } } as const;

function subjectOf(command: string, subject: string | undefined, positionals: readonly string[]): string {
  if (positionals.length > 0) throw new UsageError(`${command}: give the subject with --subject "CN=..., OU=..., O=..."`);
  const trimmed = subject?.trim() ?? '';
  if (trimmed === '') throw new UsageError(`${command}: give a non-empty --subject "CN=..., OU=..., O=..."`);
  return trimmed;
}

async function change(action: 'add' | 'remove', args: readonly string[]): Promise<number> {
  const command = `allowed-client-cert ${action}`;
  const { values, positionals } = parse(command, args, OPTIONS);
  const subject = subjectOf(command, values.subject, positionals);
  const path = configPathFor(command, values.config);
  const json = values.json === true;
  const present = configBeforeEdit(path).allowedClientCertificates.some((s) => s.trim() === subject);
  if (action === 'add' && present) {
    printOutcome(json, `"${subject}" is already allowed in ${path}; nothing changed`, { action: 'none', subject }, path);
    return 0;
  }
  if (action === 'remove' && !present) throw new CommandFailed(`${command}: "${subject}" is not in ${KEY} of ${path} (see: oms-gateway allowed-client-cert list)`);
  const committed = await commitEdit(path, (doc) => {
    const list = listAt(doc, [KEY], action === 'add');
    if (action === 'add') list?.add(doc.createNode(subject));
    else list?.delete(list.items.findIndex((item) => itemText(item)?.trim() === subject));
  }, { create: action === 'add', pidFile: values['pid-file'] });
  const message = action === 'add' ? `allowed client certificate "${subject}" in ${path}` : `removed client certificate "${subject}" from ${path}`;
  printOutcome(json, message, { action: action === 'add' ? 'added' : 'removed', subject }, path, committed);
  return 0;
}

function list(args: readonly string[]): number {
  const { values, positionals } = parse('allowed-client-cert list', args, { config: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('allowed-client-cert list: takes no arguments');
  const subjects = loadConfig({ path: resolveConfigPath(values.config, process.env) }).allowedClientCertificates;
  if (values.json === true) process.stdout.write(`${JSON.stringify({ allowedClientCertificates: subjects })}\n`);
  else process.stdout.write(`${printTable([['SUBJECT'], ...subjects.map((subject) => [subject])])}\n`);
  return 0;
}

export async function allowedClientCert(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'add' || action === 'remove') return change(action, rest);
  if (action === 'list') return list(rest);
  throw new UsageError('allowed-client-cert: expected add, remove or list (see: oms-gateway allowed-client-cert --help)');
}
