// The proxy settings each agent needs to use this gateway, for one listener: the Linux agent's `-p`
// argument and proxy.conf line (port always written, no trailing newline), the Windows agent's
// OPINSIGHTS_PROXY_* setup properties, and the Azure Monitor Agent's proxy settings (public and protected).

import { checkProxyLine, type LineCheck } from './linux-agent.js';

export interface Credentials {
  readonly user: string;
  /** The password, or a placeholder such as `<password>` when it was not given. */
  readonly password: string;
}

export interface AgentSettings {
  /** `http://host:port`: the proxy address every agent is given. */
  readonly address: string;
  readonly linux: {
    /** The value of onboard_agent.sh / omsadmin.sh `-p`. */
    readonly proxyArgument: string;
    /** The whole line of /etc/opt/microsoft/omsagent/proxy.conf, to be written without a trailing newline. */
    readonly proxyConf: string;
    /** A shell command that writes proxy.conf correctly (no newline, mode 600, owner omsagent). */
    readonly writeCommand: string;
    readonly check: LineCheck;
  };
  readonly windows: Readonly<Record<string, string>>;
  readonly ama: { readonly settings: unknown; readonly protectedSettings: unknown };
}

/** Single quotes for a POSIX shell: 'it'\''s'. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function renderAgentSettings(host: string, port: number, credentials: Credentials | undefined): AgentSettings {
  const address = `http://${host}:${port}`;
  const userinfo = credentials === undefined ? '' : `${credentials.user}:${credentials.password}@`;
  const line = `http://${userinfo}${host}:${port}`;
  const conf = '/etc/opt/microsoft/omsagent/proxy.conf';
  return {
    address,
    linux: {
      proxyArgument: line,
      proxyConf: line,
      writeCommand: `printf %s ${shellQuote(line)} | sudo tee ${conf} >/dev/null && sudo chmod 600 ${conf} && sudo chown omsagent:omiusers ${conf}`,
      check: checkProxyLine(line),
    },
    windows: {
      OPINSIGHTS_PROXY_URL: address,
      ...(credentials === undefined ? {} : { OPINSIGHTS_PROXY_USERNAME: credentials.user, OPINSIGHTS_PROXY_PASSWORD: credentials.password }),
    },
    ama: {
      // "auth" is the string "true" or "false" in the examples of Microsoft's "Azure Monitor Agent network
      // configuration" page (`'{"proxy":{"mode":"application","address":"http://[address]:[port]","auth": "false"}}'`).
      settings: { proxy: { mode: 'application', address, auth: credentials === undefined ? 'false' : 'true' } },
      protectedSettings: credentials === undefined ? {} : { proxy: { username: credentials.user, password: credentials.password } },
    },
  };
}
