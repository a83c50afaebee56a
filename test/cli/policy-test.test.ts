// `oms-gateway policy test` against a real gateway: for a table of names, the command's answer (outcome,
// reason, entry) and the gateway's own answer to a CONNECT (status, audit record) agree. Both read the same
// file with the same flags; every name is mapped to a local TCP sink, so an allowed CONNECT really opens a
// connection there and a refused one provably does not.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../fixtures/cli.js';
import { recordMatching, startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { startTcpSink, type TcpSink } from '../fixtures/origin.js';
import { connectStatus } from '../fixtures/raw-client.js';

const WS = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';
const OTHER_WS = 'f00dfeed-2222-4c4c-9d9d-cba987654321';
const CONFIG = `agents: [legacy, ama]
workspaces: [${WS}]
regions: [westeurope]
allowedHosts:
  - crl.microsoft.com:80
  - api.example.com:443,8443
  - 127.0.0.1:443
`;
const MAPPED = ['*.azure.com', '*.microsoft.com', '*.example.com', '*.azure-automation.net'];

interface Row {
  readonly target: string;
  readonly outcome: 'allowed' | 'denied' | 'would-deny';
  readonly reason?: string;
  readonly entry?: string;
  readonly source?: string;
}

const ENFORCED: readonly Row[] = [
  { target: `${WS}.ods.opinsights.azure.com:443`, outcome: 'allowed', entry: '*.ods.opinsights.azure.com', source: 'preset:legacy:public' },
  { target: `${OTHER_WS}.ods.opinsights.azure.com:443`, outcome: 'denied', reason: 'workspace-not-allowed' },
  { target: `x.${WS}.ods.opinsights.azure.com:443`, outcome: 'denied', reason: 'workspace-not-allowed' },
  { target: `${WS}.ods.opinsights.azure.com:8443`, outcome: 'denied', reason: 'port-not-allowed' },
  { target: 'westeurope.handler.control.monitor.azure.com:443', outcome: 'allowed', entry: '*.handler.control.monitor.azure.com', source: 'preset:ama:public' },
  { target: 'eastus.handler.control.monitor.azure.com:443', outcome: 'denied', reason: 'region-not-allowed' },
  { target: 'crl.microsoft.com:80', outcome: 'allowed', entry: 'crl.microsoft.com', source: 'operator' },
  { target: 'crl.microsoft.com:443', outcome: 'denied', reason: 'port-not-allowed' },
  { target: 'api.example.com:8443', outcome: 'allowed', entry: 'api.example.com', source: 'operator' },
  { target: 'flagged.example.com:8443', outcome: 'allowed', entry: 'flagged.example.com', source: 'flag' },
  { target: 'evil.example.com:443', outcome: 'denied', reason: 'not-in-allowlist' },
  { target: 'foo.azure-automation.net:443', outcome: 'allowed', entry: '*.azure-automation.net', source: 'preset:legacy:public' },
  { target: '10.1.2.3:443', outcome: 'denied', reason: 'ip-literal' },
  { target: '127.0.0.1:443', outcome: 'denied', reason: 'address-not-allowed' },
];

const REPORTED: readonly Row[] = [
  { target: 'evil.example.com:443', outcome: 'would-deny', reason: 'not-in-allowlist' },
  { target: `${OTHER_WS}.ods.opinsights.azure.com:443`, outcome: 'would-deny', reason: 'workspace-not-allowed' },
  { target: 'crl.microsoft.com:80', outcome: 'allowed', entry: 'crl.microsoft.com', source: 'operator' },
  { target: '10.1.2.3:443', outcome: 'denied', reason: 'ip-literal' },
];

interface Answer {
  readonly outcome: string;
  readonly allow: boolean;
  readonly reason?: string;
  readonly entry?: string;
  readonly sources: readonly string[];
  readonly hint?: { readonly text: string };
}

function flags(sink: TcpSink): string[] {
  return [...MAPPED.flatMap((pattern) => ['--resolve', `${pattern}=127.0.0.1:${sink.port}`]), '--allow-host', 'flagged.example.com:8443'];
}

/** The gateway's audit record for the CONNECT just made. */
function recordOf(gateway: Gateway, target: string, since: number): Promise<AuditRecord> {
  const events = ['request-denied', 'request-allowed', 'would-deny'];
  return gateway.waitForRecord((r) => recordMatching({ target })(r) && events.includes(String(r.event)), 5000, since);
}

async function agree(gateway: Gateway, sink: TcpSink, extra: readonly string[], row: Row): Promise<void> {
  const cli = await runCli(['policy', 'test', row.target, '--config', gateway.configFile ?? '', ...extra, '--json']);
  const answer = JSON.parse(cli.stdout) as Answer;
  assert.equal(cli.code, row.outcome === 'allowed' ? 0 : 1, `${row.target}: ${cli.stderr}`);
  assert.equal(answer.outcome, row.outcome, row.target);
  assert.equal(answer.reason, row.reason, row.target);
  if (row.entry !== undefined) assert.equal(answer.entry, row.entry, row.target);
  if (row.source !== undefined) assert.ok(answer.sources.includes(row.source), `${row.target}: sources ${answer.sources.join(', ')}`);

  const since = gateway.records.length;
  const connections = sink.connections;
  const head = await connectStatus(gateway.port, row.target);
  const record = await recordOf(gateway, row.target, since);
  assert.equal(record.event, { allowed: 'request-allowed', denied: 'request-denied', 'would-deny': 'would-deny' }[row.outcome], row.target);
  if (row.outcome === 'denied') {
    assert.equal(head.status, 403, row.target);
    assert.equal(sink.connections, connections, `${row.target}: a refused CONNECT reached the upstream`);
  } else {
    assert.equal(head.status, 200, row.target);
  }
  assert.equal(record.entry, answer.entry, `${row.target}: the entry`);
  if (row.outcome !== 'allowed') {
    assert.equal(record.reason, answer.reason, row.target);
    assert.equal((record.hint as { text?: unknown } | undefined)?.text, answer.hint?.text, row.target);
  }
}

describe('policy test agrees with the running gateway', () => {
  let sink: TcpSink;
  let enforcing: Gateway;
  let reporting: Gateway;
  before(async () => {
    sink = await startTcpSink();
    enforcing = await startGateway({ configYaml: CONFIG, args: flags(sink) });
    reporting = await startGateway({ configYaml: CONFIG, args: [...flags(sink), '--policy-mode', 'report'] });
  });
  after(async () => {
    await enforcing?.stop();
    await reporting?.stop();
    await sink?.close();
  });

  for (const row of ENFORCED) {
    test(`enforce: ${row.target} is ${row.outcome}${row.reason === undefined ? '' : ` (${row.reason})`}`, () => agree(enforcing, sink, flags(sink), row));
  }
  for (const row of REPORTED) {
    test(`report: ${row.target} is ${row.outcome}`, () => agree(reporting, sink, [...flags(sink), '--policy-mode', 'report'], row));
  }
});
