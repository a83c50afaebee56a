// Every command of `oms-gateway`, by the name typed on the command line. The help texts (usage.ts), the
// completion script and the manual page (usage-docs.ts) are checked against this list in test/cli.
import { agentConfig } from './agent-config.js';
import { allowedClientCert } from './allowed-client-cert.js';
import { allowedHost } from './allowed-host.js';
import { cert } from './cert.js';
import { config } from './config.js';
import { doctor } from './doctor.js';
import { policy } from './policy.js';
import { presets } from './presets.js';
import { relayProxy } from './relay-proxy.js';
import { reload } from './reload.js';
import { start } from './start.js';
import { status } from './status.js';
import { user } from './user.js';

export const COMMANDS: Readonly<Record<string, (args: readonly string[]) => Promise<number>>> = {
  start,
  config,
  user,
  status,
  'allowed-host': allowedHost,
  'allowed-client-cert': allowedClientCert,
  'relay-proxy': relayProxy,
  policy,
  reload,
  doctor,
  'agent-config': agentConfig,
  cert,
  presets,
};
