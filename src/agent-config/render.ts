// The proxy settings each agent needs to use this gateway, for one listener: the Linux agent's `-p`
// argument and proxy.conf line (port always written, no trailing newline), the Windows agent's
// OPINSIGHTS_PROXY_* setup properties, the Azure Monitor Agent's proxy settings (public and protected), the
// Arc agent's proxy.url, and the Kubernetes monitoring agents' proxy settings with the CA certificate.

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
  readonly arc: {
    /** The Connected Machine agent's proxy setting; it carries no credentials. */
    readonly proxyCommand: string;
    /** Onboarding through an Arc gateway (`--gateway-id`) and what this gateway must allow for it. */
    readonly gatewayNotes: readonly string[];
  };
  readonly kubernetes: {
    /** AKS `--http-proxy-config` file (Container insights and managed Prometheus use the cluster's proxy). */
    readonly aksHttpProxyConfig: unknown;
    /** Arc-enabled Kubernetes: `az connectedk8s connect` proxy arguments. */
    readonly arcConnectArguments: string;
  };
}

/** What agent-config knows besides the listener: the TLS listener's CA, and the Arc gateway settings. */
export interface RenderContext {
  /** The listener serves TLS: Kubernetes agents get an https:// proxy. */
  readonly tls: boolean;
  /** PEM of the CA that issued the listener's certificate (`--ca FILE`); undefined: a placeholder. */
  readonly caPem: string | undefined;
  /** The configuration's arcGateways, and whether the arc-gateway preset is on. */
  readonly arcGateways: readonly string[];
  readonly arcGatewayPreset: boolean;
}

/** Single quotes for a POSIX shell: 'it'\''s'. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function arcGatewayNotes(context: RenderContext): string[] {
  const onboard = 'onboard with `azcmagent connect --gateway-id <Arc gateway resource ID> ...`: the Arc proxy on the machine then sends CONNECT <prefix>.gw.arc.azure.com:443 through this gateway (proxy bypass is not supported with an Arc gateway)';
  if (context.arcGatewayPreset) return [onboard, `this gateway allows arcGateways: [${context.arcGateways.join(', ')}]`];
  return [onboard, 'this gateway does not allow it yet: set agents: [..., arc-gateway] and arcGateways: [<prefix>.gw.arc.azure.com]'];
}

function kubernetesSettings(host: string, port: number, userinfo: string, context: RenderContext): AgentSettings['kubernetes'] {
  const scheme = context.tls ? 'https' : 'http';
  const proxy = `${scheme}://${userinfo}${host}:${port}/`;
  const trustedCa = context.caPem === undefined
    ? (context.tls ? '<base64 of the PEM of the CA that issued the listener certificate; give --ca FILE>' : undefined)
    : Buffer.from(context.caPem, 'utf8').toString('base64');
  return {
    aksHttpProxyConfig: {
      httpProxy: `http://${userinfo}${host}:${port}/`,
      httpsProxy: proxy,
      noProxy: ['localhost', '127.0.0.1', '<cluster, service and pod CIDRs>'],
      ...(trustedCa === undefined ? {} : { trustedCa }),
    },
    arcConnectArguments: [
      `--proxy-https ${shellQuote(proxy)}`,
      `--proxy-http ${shellQuote(`http://${userinfo}${host}:${port}/`)}`,
      "--proxy-skip-range '<cluster, service and pod CIDRs>,kubernetes.default.svc,.svc.cluster.local,.svc'",
      ...(context.tls ? ['--proxy-cert <CA certificate file>'] : []),
    ].join(' '),
  };
}

export function renderAgentSettings(host: string, port: number, credentials: Credentials | undefined, context: RenderContext): AgentSettings {
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
    arc: { proxyCommand: `sudo azcmagent config set proxy.url ${shellQuote(address)}`, gatewayNotes: arcGatewayNotes(context) },
    kubernetes: kubernetesSettings(host, port, userinfo, context),
  };
}
