// How the Log Analytics agent for Linux reads its proxy setting (the one-line proxy.conf, or `-p` at
// onboarding). Its Ruby daemon (ProxyUtils.parseProxyConfiguration in Microsoft/OMS-Agent-for-Linux):
//   1. proxy_conf_str.gsub(/^(https?:\/\/)?/, "")            — strips http:// or https://
//   2. return nil if proxy_conf_str[/^[a-z]+:\/\//]          — any other scheme: not parsed
//   3. /^(?:(?<user>[^:]+):(?<pass>[^@]+)@)?(?<addr>[^:@]+)(?::(?<port>\d+))?$/
// Ruby's ^ and $ are line anchors (after / before "\n"), so they are spelled out below; nothing is
// URL-decoded. A line that does not parse makes the daemon log one warning and connect DIRECTLY. Onboarding
// passes the same text to `curl --proxy`, which URL-decodes it, speaks TLS to an https:// proxy and
// assumes port 1080, where the daemon assumes 80.

export interface RubyProxy {
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly addr: string;
  readonly port: string | undefined;
}

/** `(?<![^\n])` is Ruby's ^ (start of a line), `(?![^\n])` its $ (end of a line). */
const SCHEME_PREFIX = /(?<![^\n])(?:https?:\/\/)?/g;
const OTHER_SCHEME = /(?<![^\n])[a-z]+:\/\//;
const PROXY = /(?<![^\n])(?:(?<user>[^:]+):(?<pass>[^@]+)@)?(?<addr>[^:@]+)(?::(?<port>\d+))?(?![^\n])/;

/** The daemon's parse, step for step; undefined where it returns nil (and the agent goes direct). */
export function parseLikeLinuxAgent(text: string): RubyProxy | undefined {
  const stripped = text.replace(SCHEME_PREFIX, '');
  if (OTHER_SCHEME.test(stripped)) return undefined;
  const groups = PROXY.exec(stripped)?.groups;
  if (groups?.addr === undefined) return undefined;
  return { user: groups.user, pass: groups.pass, addr: groups.addr, port: groups.port };
}

export interface LineCheck {
  /** The daemon will use the gateway. */
  readonly usable: boolean;
  readonly parsed: { readonly host: string; readonly port: number; readonly user: string | undefined; readonly passwordLength: number | undefined } | undefined;
  /** What breaks or surprises, one sentence each. */
  readonly problems: readonly string[];
  /** What the agent will do with the line. */
  readonly verdict: string;
}

const HOST = /^[A-Za-z0-9.-]+$/;

/** Whether and how the Linux agent will use a proxy.conf line (or `-p` value); passwords are never echoed. */
export function checkProxyLine(text: string): LineCheck {
  const problems: string[] = [];
  if (/\r?\n$/.test(text)) problems.push('it ends with a newline: the agent\'s configuration component (omsconfig) breaks on it; write the file with `printf %s`, not `echo`');
  const body = text.replace(/\r?\n$/, '');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(body) && !/^https?:\/\//.test(body)) {
    problems.push('only "http://" and "https://" (lower case) are understood: any other scheme, or HTTP:// in capitals, is not parsed');
  }
  if (body.startsWith('https://')) {
    problems.push('https:// makes onboarding (curl) speak TLS to the proxy while the daemon strips it and speaks plain HTTP: use http://');
  }
  if (body.includes('[')) problems.push('an IPv6 address cannot be used: the parser splits on ":"; use a host name or an IPv4 address');
  if (body.includes('%')) problems.push('"%" is decoded by onboarding (curl) but not by the daemon: they would send different credentials');
  const parsed = parseLikeLinuxAgent(body);
  if (parsed === undefined) {
    if (/@[^@]*@/.test(body)) problems.push('the password may not contain "@"');
    return { usable: false, parsed: undefined, problems, verdict: 'NOT PARSED: the agent logs "Failed to parse the proxy configuration" once and connects DIRECTLY to Azure, bypassing the gateway' };
  }
  if (parsed.port === undefined) problems.push('no port: the daemon (Ruby) then uses 80 and onboarding (curl) 1080; always write the port');
  const port = parsed.port === undefined ? 80 : Number(parsed.port);
  if (port < 1 || port > 65535) problems.push(`port ${parsed.port ?? ''} is not 1-65535: the connection will fail`);
  if (!HOST.test(parsed.addr)) problems.push('the host has characters a host name cannot have (a space, "/", ...): the connection will fail');
  if (parsed.user?.includes('@') === true) problems.push('the user name contains "@": onboarding (curl) reads the line differently from the daemon');
  const usable = problems.length === 0;
  const who = parsed.user === undefined ? 'without credentials' : `as user "${parsed.user}" with a password of ${[...(parsed.pass ?? '')].length} characters`;
  return {
    usable,
    parsed: { host: parsed.addr, port, user: parsed.user, passwordLength: parsed.pass === undefined ? undefined : [...parsed.pass].length },
    problems,
    verdict: `parsed: the daemon sends CONNECT to ${parsed.addr}:${port} ${who}`,
  };
}

/** Why a proxy user's name or password cannot be written into the Linux agent's proxy line; empty when it can. */
export function linuxAgentCredentialProblems(user: string, password: string): string[] {
  const problems: string[] = [];
  if (user.includes(':')) problems.push('the Linux agent (proxy.conf / -p) cannot use a user name that contains ":"');
  if (user.includes('@')) problems.push('the Linux agent\'s onboarding (curl) reads a user name with "@" differently from its daemon');
  if (password.includes('@')) problems.push('the Linux agent (proxy.conf / -p) cannot use a password that contains "@"');
  if (password.includes('%')) problems.push('the Linux agent\'s onboarding (curl) URL-decodes "%" in a password and its daemon does not');
  if (/[\s]/.test(user + password)) problems.push('the Linux agent cannot use spaces or line breaks in the user name or password');
  if (/[^\x20-\x7e]/.test(password)) problems.push('the password has non-ASCII characters: some agents cannot send it');
  return problems;
}
