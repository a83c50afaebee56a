// `oms-gateway allowed-host add|remove|list PATTERN[:PORTS]` (Add-/Remove-/Get-OMSGatewayAllowedHost).
// add: an operator entry in allowedHosts, its ports merged into an existing entry of the same pattern; a
// built-in host that was disabled is enabled again. remove: the ports given (else the whole pattern) leave
// allowedHosts, and a built-in host is disabled (disabledDefaultHosts), so the host is no longer allowed.
import { isIPv6 } from 'node:net';
import { isScalar, type Document } from 'yaml';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import type { GatewayConfig } from '../../config/types.js';
import type { AllowEntryConfig } from '../../policy/config-types.js';
import { describeAllowlist } from '../../config/effective-allowlist.js';
import { itemText, listAt } from '../../config/yaml-lists.js';
import { compilePolicy } from '../../policy/decide.js';
import { parseAllowEntry, parsePattern } from '../../policy/patterns.js';
import { entryScope } from '../../policy/scope.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { commitEdit, configBeforeEdit, configPathFor, EDIT_OPTIONS, printOutcome } from '../edit-command.js';
import { printTable } from '../io.js';

const OPERATOR = 'operator';

/** The entry as written in the file: `pattern:ports`, an IPv6 literal in brackets. */
export function formatAllowEntry(pattern: string, ports: readonly number[]): string {
  const host = isIPv6(pattern) ? `[${pattern}]` : pattern;
  return `${host}:${ports.join(',')}`;
}

interface Wanted {
  readonly entry: AllowEntryConfig;
  /** False for a bare PATTERN: every port of that pattern. */
  readonly portsGiven: boolean;
}

function wanted(command: string, text: string | undefined): Wanted {
  if (text === undefined) throw new UsageError(`${command}: give one PATTERN[:PORTS], e.g. crl.microsoft.com:80`);
  const parsed = parseAllowEntry(text, OPERATOR);
  if (!parsed.ok) throw new UsageError(`${command}: ${parsed.message}`);
  return { entry: parsed.entry, portsGiven: !parsePattern(text).ok };
}

function isBuiltIn(config: GatewayConfig, pattern: string): boolean {
  const { allowlist, disabledDefaults } = config.policy;
  return disabledDefaults.includes(pattern) || allowlist.some((e) => e.pattern === pattern && e.source !== OPERATOR && e.source !== 'flag');
}

/** Operator items of `pattern` in the file, as [index, ports]. */
function operatorItems(doc: Document, pattern: string): [number, readonly number[]][] {
  const list = listAt(doc, ['allowedHosts'], false);
  return (list?.items ?? []).flatMap((item, index): [number, readonly number[]][] => {
    const text = itemText(item);
    const parsed = text === undefined ? undefined : parseAllowEntry(text, OPERATOR);
    return parsed?.ok === true && parsed.entry.pattern === pattern ? [[index, parsed.entry.ports]] : [];
  });
}

function setItem(doc: Document, index: number, text: string): void {
  const list = listAt(doc, ['allowedHosts'], true);
  const item = list?.items[index];
  if (isScalar(item)) item.value = text;
}

function removeText(doc: Document, key: string, text: string): void {
  const list = listAt(doc, [key], false);
  const index = list?.items.findIndex((item) => itemText(item) === text) ?? -1;
  if (index >= 0) list?.delete(index);
}

async function add(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('allowed-host add', args, EDIT_OPTIONS);
  if (positionals.length > 1) throw new UsageError('allowed-host add: give one PATTERN[:PORTS]');
  const { entry } = wanted('allowed-host add', positionals[0]);
  const path = configPathFor('allowed-host add', values.config);
  const config = configBeforeEdit(path);
  const shown = formatAllowEntry(entry.pattern, entry.ports);
  const json = values.json === true;
  const disabled = config.policy.disabledDefaults.includes(entry.pattern);
  const covering = config.policy.allowlist.find((e) => e.pattern === entry.pattern && entry.ports.every((port) => e.ports.includes(port)));
  if (covering !== undefined && !disabled) {
    printOutcome(json, `${shown} is already allowed (${covering.source}); nothing changed`, { action: 'none', entry: shown, source: covering.source }, path);
    return 0;
  }
  // A disabled built-in comes back on 443 by being enabled again; other ports still need an operator entry.
  const extraPorts = disabled ? entry.ports.filter((port) => port !== 443) : entry.ports;
  let written = shown;
  const committed = await commitEdit(path, (doc) => {
    if (disabled) removeText(doc, 'disabledDefaultHosts', entry.pattern);
    if (extraPorts.length === 0) return;
    const [first] = operatorItems(doc, entry.pattern);
    if (first === undefined) {
      written = formatAllowEntry(entry.pattern, extraPorts);
      listAt(doc, ['allowedHosts'], true)?.add(doc.createNode(written));
    } else {
      written = formatAllowEntry(entry.pattern, [...new Set([...first[1], ...extraPorts])].sort((a, b) => a - b));
      setItem(doc, first[0], written);
    }
  }, { create: true, pidFile: values['pid-file'] });
  const enabled = disabled ? `enabled the built-in host ${entry.pattern} again` : undefined;
  const message = [enabled, extraPorts.length > 0 ? `allowed ${written}` : undefined].filter(Boolean).join('; ');
  printOutcome(json, `${message} in ${path}`, { action: 'added', entry: shown, enabledBuiltIn: disabled }, path, committed);
  return 0;
}

async function remove(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('allowed-host remove', args, EDIT_OPTIONS);
  if (positionals.length > 1) throw new UsageError('allowed-host remove: give one PATTERN[:PORTS]');
  const { entry, portsGiven } = wanted('allowed-host remove', positionals[0]);
  const path = configPathFor('allowed-host remove', values.config);
  const config = configBeforeEdit(path);
  const builtIn = isBuiltIn(config, entry.pattern) && !config.policy.disabledDefaults.includes(entry.pattern);
  // Built-in hosts are allowed on 443 only, so removing 443 (or the whole pattern) disables one.
  const disable = builtIn && (!portsGiven || entry.ports.includes(443));
  let changedItems = 0;
  const committed = await commitEdit(path, (doc) => {
    for (const [index, ports] of operatorItems(doc, entry.pattern).reverse()) {
      const left = portsGiven ? ports.filter((port) => !entry.ports.includes(port)) : [];
      if (left.length === ports.length) continue;
      changedItems += 1;
      if (left.length === 0) listAt(doc, ['allowedHosts'], false)?.delete(index);
      else setItem(doc, index, formatAllowEntry(entry.pattern, left));
    }
    if (disable) listAt(doc, ['disabledDefaultHosts'], true)?.add(doc.createNode(entry.pattern));
    if (changedItems === 0 && !disable) {
      const fromFlag = config.policy.allowlist.some((e) => e.pattern === entry.pattern && e.source === 'flag');
      const why = fromFlag ? ': it comes from --allow-host on the command line' : '';
      throw new CommandFailed(`allowed-host remove: ${positionals[0] ?? ''} is not in the allowlist of ${path}${why} (see: oms-gateway allowed-host list)`);
    }
  }, { create: false, pidFile: values['pid-file'] });
  const parts = [changedItems > 0 ? `removed ${positionals[0] ?? ''} from allowedHosts` : undefined, disable ? `disabled the built-in host ${entry.pattern}` : undefined];
  printOutcome(values.json === true, `${parts.filter(Boolean).join('; ')} in ${path}`, { action: 'removed', entry: positionals[0], disabledBuiltIn: disable }, path, committed);
  return 0;
}

function list(args: readonly string[]): number {
  const { values, positionals } = parse('allowed-host list', args, { config: { type: 'string' }, json: { type: 'boolean' }, effective: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('allowed-host list: takes no arguments');
  const config = loadConfig({ path: resolveConfigPath(values.config, process.env) });
  const policy = compilePolicy(config.policy);
  const { workspaces, regions } = config.policy;
  const rows = values.effective === true ? describeAllowlist(config) : config.policy.allowlist;
  const scoped = rows.map((row) => ({ ...row, scope: entryScope(policy, row.pattern) }));
  if (values.json === true) {
    const listed = values.effective === true ? { effective: scoped } : { allowlist: scoped, disabledDefaults: config.policy.disabledDefaults };
    process.stdout.write(`${JSON.stringify({ ...listed, workspaces, regions })}\n`);
    return 0;
  }
  // The SCOPE column only when some scoping is configured: without it every cell would be empty.
  const withScope = workspaces.length > 0 || regions.length > 0;
  const table = scoped.map((row) => [row.pattern, row.ports.join(','), row.source, ...(withScope ? [row.scope.join(', ')] : [])]);
  process.stdout.write(`${printTable([['PATTERN', 'PORTS', 'SOURCE', ...(withScope ? ['SCOPE'] : [])], ...table])}\n`);
  if (values.effective !== true && config.policy.disabledDefaults.length > 0) process.stdout.write(`disabled built-in hosts: ${config.policy.disabledDefaults.join(', ')}\n`);
  process.stdout.write(`workspaces: ${workspaces.length === 0 ? 'any (not scoped)' : `${workspaces.join(', ')} (names below a workspace suffix must be <id>.<suffix>)`}\n`);
  process.stdout.write(`regions: ${regions.length === 0 ? 'any (not scoped)' : `${regions.join(', ')} (region-carrying names must name one of them)`}\n`);
  return 0;
}

export async function allowedHost(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      return add(rest);
    case 'remove':
      return remove(rest);
    case 'list':
      return list(rest);
    default:
      throw new UsageError('allowed-host: expected add, remove or list (see: oms-gateway allowed-host --help)');
  }
}
