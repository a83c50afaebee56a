// `oms-gateway agent-config [--user NAME] [--host NAME]`: what to give each agent to use this gateway;
// `--generate-password` makes a password every agent can carry (letters and digits, credentials.ts).
// `oms-gateway agent-config --check LINE`: whether the Linux agent will parse a proxy.conf line, and what it
// will do with it (LINE `-` reads the line from standard input as it is, trailing newline included).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIPv6 } from 'node:net';
import { checkProxyLine, linuxAgentCredentialProblems, type LineCheck } from '../../agent-config/linux-agent.js';
import { generatePassword, URL_AND_SHELL_SAFE } from '../../agent-config/credentials.js';
import { renderAgentSettings, shellQuote, type AgentSettings, type Credentials } from '../../agent-config/render.js';
import { verifyPassword } from '../../auth/password.js';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import type { GatewayConfig, ListenerConfig } from '../../config/types.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { readPasswordFromStdin, readStdin } from '../io.js';

const OPTIONS = {
  config: { type: 'string' },
  user: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  host: { type: 'string' },
  check: { type: 'string' },
  'generate-password': { type: 'boolean' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const PLACEHOLDER = '<password>';
const WILDCARDS = new Set(['0.0.0.0', '::']);

function printCheck(check: LineCheck, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(check)}\n`);
    return;
  }
  process.stdout.write(`${check.verdict}\n`);
  for (const problem of check.problems) process.stdout.write(`problem: ${problem}\n`);
  if (check.usable) process.stdout.write('the Linux agent will use the gateway with this line\n');
}

async function credentials(config: GatewayConfig, user: string | undefined, fromStdin: boolean, generate: boolean): Promise<Credentials | undefined> {
  if (config.auth.mode === 'anonymous') {
    if (user !== undefined || generate) throw new UsageError('agent-config: auth.mode is anonymous, agents need no --user');
    return undefined;
  }
  if (generate) {
    if (user === undefined || fromStdin) throw new UsageError('agent-config: --generate-password needs --user NAME (and no --password-stdin)');
    return { user, password: generatePassword() };
  }
  if (user === undefined) {
    if (fromStdin) throw new UsageError('agent-config: --password-stdin needs --user NAME');
    return { user: '<user>', password: PLACEHOLDER };
  }
  const stored = config.auth.users.find((u) => u.name === user);
  if (stored === undefined) throw new CommandFailed(`agent-config: no user "${user}" (see: oms-gateway user list)`);
  if (!fromStdin) return { user, password: PLACEHOLDER };
  const password = await readPasswordFromStdin();
  if (!(await verifyPassword(password, stored.passwordHash))) throw new CommandFailed(`agent-config: that is not the password of user "${user}"`);
  return { user, password };
}

/** The name agents are told: --host, else the machine's name for a wildcard listener, else its address. */
function hostFor(listener: ListenerConfig, flag: string | undefined): string {
  if (flag !== undefined) return flag;
  if (WILDCARDS.has(listener.host)) return hostname();
  return isIPv6(listener.host) ? `[${listener.host}]` : listener.host;
}

/** The CA certificate file for the Kubernetes agents' trustedCa. */
function readCa(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`agent-config: --ca: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`agent-config: --ca: ${path} holds no PEM certificate`);
  return pem;
}

/** What agents that cannot carry these credentials, or this listener, will do. */
function familyWarnings(config: GatewayConfig, given: Credentials | undefined): string[] {
  const warnings: string[] = [];
  if (config.auth.mode === 'basic') {
    warnings.push('the Arc agent\'s proxy.url carries no credentials, and AMA on an Arc machine takes that URL without them unless AMA is in the Arc agent\'s proxy bypass: with auth.mode basic such machines get 407');
  }
  if (given !== undefined && given.user !== '<user>' && !URL_AND_SHELL_SAFE.test(given.user)) {
    warnings.push('AMA on Linux puts the user name into http://user:password@host without URL-encoding: keep it to letters, digits, ".", "_" and "-"');
  }
  return warnings;
}

function printSettings(listener: string, s: AgentSettings, warnings: readonly string[]): void {
  const lines = [
    `Gateway listener ${listener}: agents use ${s.address}`,
    '',
    'Log Analytics agent for Linux',
    `  onboarding:  sh onboard_agent.sh -w <workspace-id> -s <key> -p ${s.linux.proxyArgument}`,
    `  proxy.conf:  ${s.linux.proxyConf}   (one line, no trailing newline)`,
    `  write it:    ${s.linux.writeCommand}`,
    `  check:       ${s.linux.check.verdict}`,
    ...s.linux.check.problems.map((problem) => `  problem:     ${problem}`),
    '',
    'Windows agent (MMA) setup properties',
    ...Object.entries(s.windows).map(([name, value]) => `  ${name}=${value}`),
    '',
    'Azure Monitor Agent',
    `  settings:            ${JSON.stringify(s.ama.settings)}`,
    `  protected settings:  ${JSON.stringify(s.ama.protectedSettings)}`,
    '',
    'Azure Arc Connected Machine agent (its proxy.url carries no credentials)',
    `  proxy:        ${s.arc.proxyCommand}`,
    ...s.arc.gatewayNotes.map((note) => `  Arc gateway:  ${note}`),
    '',
    'Kubernetes: Container insights and managed Prometheus',
    `  AKS --http-proxy-config file:  ${JSON.stringify(s.kubernetes.aksHttpProxyConfig)}`,
    `  Arc-enabled, az connectedk8s connect ...  ${s.kubernetes.arcConnectArguments}`,
    ...warnings.map((warning) => `warning: ${warning}`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function agentConfig(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse('agent-config', args, OPTIONS);
  if (positionals.length > 0) throw new UsageError('agent-config: unexpected argument; quote a proxy.conf line and give it to --check');
  const json = values.json === true;
  if (values.check !== undefined) {
    const line = values.check === '-' ? await readStdin() : values.check;
    const check = checkProxyLine(line);
    printCheck(check, json);
    return check.usable ? 0 : 1;
  }
  const configPath = resolveConfigPath(values.config, process.env);
  const config = loadConfig({ path: configPath });
  const generate = values['generate-password'] === true;
  const given = await credentials(config, values.user, values['password-stdin'] === true, generate);
  const caPem = readCa(values.ca);
  const warnings = given === undefined || given.password === PLACEHOLDER ? [] : linuxAgentCredentialProblems(given.user, given.password);
  warnings.push(...familyWarnings(config, given));
  if (given?.password === PLACEHOLDER && values.user !== undefined) warnings.push('replace <password> with the user\'s password (or give it with --password-stdin to have it checked and filled in)');
  const results = config.listen.map((listener) => {
    if (listener.port === 0) throw new CommandFailed('agent-config: a listener has port 0 (chosen at start); give listen a fixed port');
    const host = hostFor(listener, values.host);
    const context = { tls: listener.tls !== undefined, caPem, arcGateways: config.policy.arcGateways, arcGatewayPreset: config.policy.agents.includes('arc-gateway') };
    return { listener: `${listener.host}:${listener.port}`, settings: renderAgentSettings(host, listener.port, given, context) };
  });
  // A generated password is shown once, here; storing it (as a hash) is `user add`'s job.
  const store = generate && given !== undefined
    ? `printf %s ${given.password} | oms-gateway user add ${shellQuote(given.user)}${configPath === undefined ? '' : ` --config ${shellQuote(configPath)}`}`
    : undefined;
  if (json) process.stdout.write(`${JSON.stringify({ listeners: results, warnings, ...(store && { storeCommand: store }) })}\n`);
  else {
    for (const { listener, settings } of results) printSettings(listener, settings, warnings);
    if (store !== undefined) process.stdout.write(`Generated password for ${given?.user ?? ''} (letters and digits only, safe unencoded in URLs and unquoted in shells); store it with:\n  ${store}\n`);
  }
  return 0;
}
