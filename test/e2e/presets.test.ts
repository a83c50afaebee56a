// Agent presets, deny hints and report mode against the real gateway. Every name below is mapped to a local
// TLS origin with --resolve, so an allowed CONNECT really carries a TLS session with the name's SNI (as the
// agents' do) to it, and a refused one provably never reaches it.

import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { recordMatching, startGateway, type AuditRecord, type Gateway } from '../fixtures/gateway.js';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { HELLO_BODY, startTlsOrigin, type TlsOrigin } from '../fixtures/origin.js';
import { testPki } from '../fixtures/pki.js';
import { openTunnel, rawExchange, statusCodes, TunnelRefusedError } from '../fixtures/raw-client.js';
import { readText, requestOver } from '../fixtures/tls-client.js';
import { runCli, tempDir } from '../fixtures/cli.js';
import { REPO_ROOT } from '../fixtures/gateway.js';

const WS = '0b5e1d2c-1111-4a4a-8b8b-123456789abc';

/** What each agent family connects to (Microsoft's examples). */
const AMA = {
  control: 'global.handler.control.monitor.azure.com:443',
  dcr: 'westeurope.handler.control.monitor.azure.com:443',
  ingestion: `${WS}.ods.opinsights.azure.com:443`,
  dce: 'mydce-x1y2.westeurope-1.ingest.monitor.azure.com:443',
};
const ARC = {
  identity: 'login.microsoftonline.com:443',
  hybridIdentity: 'gbl.his.arc.azure.com:443',
  guestConfiguration: 'agentserviceapi.guestconfiguration.azure.com:443',
  notifications: 'guestnotificationservice.azure.com:443',
  notificationRelay: 'azgn7f3a.servicebus.windows.net:443',
  extensions: 'extensions.blob.core.windows.net:443',
};
const MAPPED = [
  '*.handler.control.monitor.azure.com', 'global.handler.control.monitor.azure.com', '*.ods.opinsights.azure.com',
  '*.ingest.monitor.azure.com', 'login.microsoftonline.com', '*.his.arc.azure.com', '*.guestconfiguration.azure.com',
  'guestnotificationservice.azure.com', '*.servicebus.windows.net', '*.blob.core.windows.net', '*.example.com',
  '*.gw.arc.azure.com', '*.monitor.azure.com',
];

function resolveArgs(origin: TlsOrigin): string[] {
  return MAPPED.flatMap((pattern) => ['--resolve', `${pattern}=127.0.0.1:${origin.port}`]);
}

/**
 * TLS with the target's name as SNI over the tunnel, verified against the test CA. The origin's certificate
 * covers the legacy names only, so the name check is left out: what is tested is the gateway's path.
 */
async function tlsOver(socket: Socket, servername: string): Promise<TLSSocket> {
  const { caPem } = await testPki();
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername, ca: caPem, checkServerIdentity: () => undefined });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', reject);
  });
}

/** CONNECT `target`; on 200 fetches /hello from the origin through the tunnel. Returns the status. */
async function tunnel(gateway: Gateway, origin: TlsOrigin, target: string): Promise<number> {
  const before = origin.connections;
  try {
    const { socket } = await openTunnel(gateway.port, target);
    const host = target.slice(0, target.lastIndexOf(':'));
    const response = await requestOver(await tlsOver(socket, host), { method: 'GET', path: '/hello', host });
    assert.equal(await readText(response), HELLO_BODY, target);
    return 200;
  } catch (err) {
    if (!(err instanceof TunnelRefusedError)) throw err;
    assert.equal(origin.connections, before, `a refused CONNECT to ${target} reached the origin`);
    return err.head.status;
  }
}

function recordFor(gateway: Gateway, event: string, target: string, since: number): Promise<AuditRecord> {
  return gateway.waitForRecord(recordMatching({ event, target }), 5000, since);
}

describe('the default configuration carries the Azure Monitor Agent, and Arc once enabled', () => {
  let origin: TlsOrigin;
  let defaults: Gateway;
  let withArc: Gateway;
  before(async () => {
    origin = await startTlsOrigin();
    [defaults, withArc] = await Promise.all([
      startGateway({ args: resolveArgs(origin) }),
      startGateway({ args: [...resolveArgs(origin), '--agents', 'legacy,ama,arc'] }),
    ]);
  });
  after(async () => {
    await Promise.all([defaults?.stop(), withArc?.stop()]);
    await origin?.close();
  });

  for (const [purpose, target] of Object.entries(AMA)) {
    test(`AMA ${purpose} (${target}) is tunnelled by the embedded default`, async () => {
      const since = defaults.records.length;
      assert.equal(await tunnel(defaults, origin, target), 200);
      const record = await recordFor(defaults, 'request-allowed', target, since);
      assert.equal(record.decision, 'allow');
    });
  }

  for (const [purpose, target] of Object.entries(ARC)) {
    test(`Arc ${purpose} (${target}) is tunnelled with agents: [legacy, ama, arc]`, async () => {
      assert.equal(await tunnel(withArc, origin, target), 200);
    });
  }

  test('the default refuses Arc with a hint naming the preset', async () => {
    const since = defaults.records.length;
    assert.equal(await tunnel(defaults, origin, ARC.notificationRelay), 403);
    const record = await recordFor(defaults, 'request-denied', ARC.notificationRelay, since);
    assert.equal(record.reason, 'not-in-allowlist');
    assert.deepEqual(record.hint, {
      kind: 'enable-preset',
      text: 'azgn7f3a.servicebus.windows.net: enable agents: [arc] (preset arc, cloud public, entry azgn*.servicebus.windows.net): set agents: [legacy, ama, arc]',
    });
  });

  test('look-alikes of the in-label wildcard stay refused', async () => {
    for (const target of ['azgn.servicebus.windows.net:443', 'xazgn1.servicebus.windows.net:443', 'azgn.x.servicebus.windows.net:443']) {
      assert.equal(await tunnel(withArc, origin, target), 403, target);
    }
  });

  test('a name in no preset gets the allowed-host command; a port the entry lacks gets the entry’s ports', async () => {
    const since = defaults.records.length;
    assert.equal(await tunnel(defaults, origin, 'api.example.com:443'), 403);
    const unknown = await recordFor(defaults, 'request-denied', 'api.example.com:443', since);
    assert.deepEqual(unknown.hint, {
      kind: 'add-host',
      text: 'api.example.com:443 is in no allowlist entry or preset',
      command: 'oms-gateway allowed-host add api.example.com:443',
    });
    assert.equal(await tunnel(defaults, origin, `${WS}.ods.opinsights.azure.com:8443`), 403);
    const port = await recordFor(defaults, 'request-denied', `${WS}.ods.opinsights.azure.com:8443`, since);
    assert.equal(port.reason, 'port-not-allowed');
    assert.equal((port.hint as { kind?: unknown }).kind, 'add-port');
  });

  test('service-started names the agents and the mode', async () => {
    const started = await withArc.waitForRecord((r) => r.event === 'service-started');
    assert.deepEqual(started.agents, ['legacy', 'ama', 'arc']);
    assert.equal(started.policyMode, 'enforce');
    assert.equal(withArc.records.filter((r) => r.event === 'policy-not-enforced').length, 0);
  });
});

describe('workspace and region scoping, with hints', () => {
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startTlsOrigin();
    gateway = await startGateway({ args: resolveArgs(origin), configYaml: `workspaces: [${WS}]\nregions: [westeurope]\n` });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
  });

  test('listed workspace and region pass', async () => {
    assert.equal(await tunnel(gateway, origin, AMA.ingestion), 200);
    assert.equal(await tunnel(gateway, origin, AMA.dcr), 200);
    assert.equal(await tunnel(gateway, origin, AMA.dce), 200);
  });

  test('another workspace is refused, naming the list', async () => {
    const other = 'f00dfeed-2222-4c4c-9d9d-cba987654321.ods.opinsights.azure.com:443';
    const since = gateway.records.length;
    assert.equal(await tunnel(gateway, origin, other), 403);
    const record = await recordFor(gateway, 'request-denied', other, since);
    assert.equal(record.reason, 'workspace-not-allowed');
    assert.equal((record.hint as { text?: unknown }).text, `workspace f00dfeed-2222-4c4c-9d9d-cba987654321 is not in workspaces: [${WS}]; add it there to allow it`);
  });

  test('another region is refused, naming the list', async () => {
    const other = 'eastus.handler.control.monitor.azure.com:443';
    const since = gateway.records.length;
    assert.equal(await tunnel(gateway, origin, other), 403);
    const record = await recordFor(gateway, 'request-denied', other, since);
    assert.equal(record.reason, 'region-not-allowed');
    assert.deepEqual(record.hint, { kind: 'region', text: 'region eastus is not in regions: [westeurope]; add it there to allow it' });
  });
});

describe('report mode: relayed and recorded, safety checks kept, then enforce', () => {
  let origin: TlsOrigin;
  let report: Gateway;
  before(async () => {
    origin = await startTlsOrigin();
    report = await startGateway({ args: [...resolveArgs(origin), '--policy-mode', 'report'], configYaml: `workspaces: [${WS}]\n` });
  });
  after(async () => {
    await report?.stop();
    await origin?.close();
  });

  test('start-up says loudly that the gateway is not enforcing', async () => {
    const started = await report.waitForRecord((r) => r.event === 'service-started');
    assert.equal(started.policyMode, 'report');
    const warning = await report.waitForRecord((r) => r.event === 'policy-not-enforced');
    assert.equal(warning.eventId, 1101);
    assert.equal(warning.level, 'warn');
    assert.equal(warning.enforcing, false);
    assert.match(String(warning.msg), /NOT ENFORCING/);
  });

  test('/readyz and the metrics say so too, and count what was relayed', async () => {
    const base = report.metricsBaseUrl;
    assert.ok(base !== undefined, 'no metrics listener');
    const ready = (await (await fetch(new URL('/readyz', base))).json()) as { policy?: unknown };
    assert.deepEqual(ready.policy, { mode: 'report', enforcing: false });
    assert.equal(await tunnel(report, origin, 'counted.example.com:443'), 200);
    const metrics = await (await fetch(new URL('/metrics', base))).text();
    assert.match(metrics, /^oms_gateway_policy_enforcing 0$/m);
    assert.match(metrics, /^oms_gateway_would_deny_total\{kind="tunnel",reason="not-in-allowlist"\} [1-9]/m);
  });

  const relaxed: [string, string][] = [
    ['a name outside the allowlist', 'api.example.com:443'],
    ['a port no entry allows', `${WS}.ods.opinsights.azure.com:8443`],
    ['an unlisted workspace', 'f00dfeed-2222-4c4c-9d9d-cba987654321.ods.opinsights.azure.com:443'],
    ['a preset that is not enabled', ARC.notificationRelay],
  ];
  for (const [title, target] of relaxed) {
    test(`relayed and recorded as would-deny: ${title}`, async () => {
      const since = report.records.length;
      assert.equal(await tunnel(report, origin, target), 200);
      const record = await recordFor(report, 'would-deny', target, since);
      assert.equal(record.eventId, 1100);
      assert.equal(record.level, 'warn');
      assert.equal(record.decision, 'would-deny');
      assert.equal(record.enforcing, false);
      assert.equal(typeof record.reason, 'string');
      assert.match(String(record.msg), /^NOT ENFORCING/);
      assert.equal(typeof (record.hint as { text?: unknown }).text, 'string');
    });
  }

  test('an allowed request is still simply allowed', async () => {
    const since = report.records.length;
    assert.equal(await tunnel(report, origin, AMA.ingestion), 200);
    await recordFor(report, 'request-allowed', AMA.ingestion, since);
  });

  const stillRefused: [string, string, number, string][] = [
    ['an IP literal of the loopback', '127.0.0.1:PORT', 403, 'ip-literal'],
    ['the metadata address', '169.254.169.254:80', 403, 'ip-literal'],
    ['a name outside the allowlist that resolves to loopback', 'localhost:PORT', 403, 'address-not-allowed'],
  ];
  for (const [title, targetTemplate, status, reason] of stillRefused) {
    test(`still refused: ${title}`, async () => {
      const target = targetTemplate.replace('PORT', String(origin.port));
      const since = report.records.length;
      assert.equal(await tunnel(report, origin, target), status);
      const record = await recordFor(report, 'request-denied', target, since);
      assert.equal(record.reason, reason);
    });
  }

  test('still refused: a malformed target', async () => {
    const before = origin.connections;
    const result = await rawExchange(report.port, `CONNECT user@${WS}.ods.opinsights.azure.com:443 HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.deepEqual(statusCodes(result.data), [400]);
    assert.equal(origin.connections, before);
  });

  test('what report mode recorded is what enforce mode then needs: its hints make the allowlist', async () => {
    const wouldDeny = report.records.filter((r) => r.event === 'would-deny');
    const commands = wouldDeny.map((r) => (r.hint as { command?: string }).command).filter((c): c is string => c !== undefined);
    assert.ok(commands.includes('oms-gateway allowed-host add api.example.com:443'), commands.join('\n'));
    // The operator turns each reported hint into configuration, then switches to enforce mode.
    const allowHosts = commands.map((command) => command.replace('oms-gateway allowed-host add ', ''));
    const enforce = await startGateway({
      args: [...resolveArgs(origin), '--agents', 'legacy,ama,arc', ...allowHosts.flatMap((entry) => ['--allow-host', entry])],
      configYaml: `workspaces: [${WS}, f00dfeed-2222-4c4c-9d9d-cba987654321]\n`,
    });
    try {
      for (const target of wouldDeny.map((r) => String(r.target))) assert.equal(await tunnel(enforce, origin, target), 200, target);
      assert.equal(await tunnel(enforce, origin, 'other.example.com:443'), 403);
      assert.equal(enforce.records.filter((r) => r.event === 'policy-not-enforced').length, 0);
    } finally {
      await enforce.stop();
    }
  });
});

describe('arc-gateway: the tenant’s own gateway address, and no other', () => {
  const OURS = 'contoso1.gw.arc.azure.com:443';
  let origin: TlsOrigin;
  let gateway: Gateway;
  before(async () => {
    origin = await startTlsOrigin();
    gateway = await startGateway({ args: resolveArgs(origin), configYaml: 'agents: [ama, arc-gateway]\narcGateways: [contoso1.gw.arc.azure.com]\n' });
  });
  after(async () => {
    await gateway?.stop();
    await origin?.close();
  });

  test('the configured gateway is tunnelled, as the Arc proxy sends it', async () => {
    assert.equal(await tunnel(gateway, origin, OURS), 200);
  });

  test('another tenant’s gateway and look-alikes are refused before any connection, with a hint naming arcGateways', async () => {
    for (const target of ['fabrikam7.gw.arc.azure.com:443', 'contoso1x.gw.arc.azure.com:443', 'x.contoso1.gw.arc.azure.com:443', 'contoso1.gw.arc.azure.com:8443']) {
      assert.equal(await tunnel(gateway, origin, target), 403, target);
    }
    const record = await recordFor(gateway, 'request-denied', 'fabrikam7.gw.arc.azure.com:443', 0);
    assert.equal((record.hint as { kind?: unknown }).kind, 'arc-gateway');
    assert.match(String((record.hint as { text?: unknown }).text), /not in arcGateways: \[contoso1\.gw\.arc\.azure\.com\]/);
  });
});

describe('presets as data: diff, reload and restart name the entries new data adds', () => {
  const NEW_HOST = 'newendpoint.monitor.azure.com';

  /** Adds an entry to the copy's ama.public.json and bumps its version, as a package upgrade would. */
  async function addEntry(dir: string, pattern: string, version: string): Promise<void> {
    const path = join(dir, 'ama.public.json');
    const file = JSON.parse(await readFile(path, 'utf8')) as { entries: unknown[] };
    file.entries.push({ pattern, ports: [443], source: 'https://learn.microsoft.com/example', checked: '2026-12-05' });
    await writeFile(path, JSON.stringify(file));
    await writeFile(join(dir, 'version.json'), JSON.stringify({ format: 1, version }));
  }

  test('a changed data file shows in presets diff, is announced by reload and its record, and by the next start', async (t) => {
    const work = await tempDir(t);
    const dataDir = join(work, 'presets');
    await cp(join(REPO_ROOT, 'config', 'presets'), dataDir, { recursive: true });
    const env = { OMS_GATEWAY_PRESETS_DIR: dataDir };
    const pidFile = join(work, 'gateway.pid');
    const origin = await startTlsOrigin();
    t.after(() => origin.close());
    let gateway = await startGateway({ args: resolveArgs(origin), env, configYaml: `agents: [ama]\npidFile: ${pidFile}\n` });
    t.after(() => gateway.stop());
    const config = gateway.configFile ?? '';

    const check = await runCli(['config', 'check', config], { env });
    assert.match(check.stdout, /^# preset data version 2026\.12\.05 \(oms-gateway presets list\)$/m);
    const unchanged = await runCli(['presets', 'diff', '--config', config], { env });
    assert.equal(unchanged.code, 0, unchanged.stderr);
    assert.match(unchanged.stdout, /no preset entry would be added or removed by a reload/);
    assert.equal(await tunnel(gateway, origin, `${NEW_HOST}:443`), 403);

    await addEntry(dataDir, NEW_HOST, '2027.01.15');
    const diff = await runCli(['presets', 'diff', '--config', config, '--json'], { env });
    assert.equal(diff.code, 0, diff.stderr);
    const changes = JSON.parse(diff.stdout) as { fromVersion: string; toVersion: string; added: unknown[]; removed: unknown[] };
    assert.deepEqual({ ...changes, snapshot: undefined }, {
      snapshot: undefined, fromVersion: '2026.12.05', toVersion: '2027.01.15', removed: [],
      added: [{ pattern: NEW_HOST, ports: [443], source: 'preset:ama:public' }],
    });
    // Nothing is applied by looking: the running gateway still refuses it.
    assert.equal(await tunnel(gateway, origin, `${NEW_HOST}:443`), 403);

    const since = gateway.records.length;
    const reload = await runCli(['reload', '--config', config], { env });
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, new RegExp(`^the reload added preset entry ${NEW_HOST.replaceAll('.', '\\.')}:443 \\(preset:ama:public\\)$`, 'm'));
    const reloaded = await gateway.waitForRecord((r) => r.event === 'config-reloaded', 20_000, since);
    assert.deepEqual((reloaded.presets as { added: unknown[] }).added, [{ pattern: NEW_HOST, ports: [443], source: 'preset:ama:public' }]);
    assert.match(String(reloaded.msg), new RegExp(`preset data 2026\\.12\\.05 → 2027\\.01\\.15; adds ${NEW_HOST.replaceAll('.', '\\.')}:443`));
    assert.equal(await tunnel(gateway, origin, `${NEW_HOST}:443`), 200);
    assert.match((await runCli(['presets', 'diff', '--config', config], { env })).stdout, /no preset entry would be added or removed/);

    // An upgrade followed by a restart: the start says what the new data adds.
    await gateway.stop();
    await addEntry(dataDir, `second.${NEW_HOST}`, '2027.02.01');
    gateway = await startGateway({ args: resolveArgs(origin), env, configYaml: `agents: [ama]\npidFile: ${pidFile}\n` });
    const started = await gateway.waitForRecord((r) => r.event === 'presets-changed', 10_000);
    assert.equal(started.level, 'warn');
    assert.deepEqual(started.added, [{ pattern: `second.${NEW_HOST}`, ports: [443], source: 'preset:ama:public' }]);
    // Before the work directory it writes its pid file into is removed (its hook was registered first).
    await gateway.stop();
  });

  test('a data file that is not valid is a configuration error naming the file', async (t) => {
    const dataDir = join(await tempDir(t), 'presets');
    await cp(join(REPO_ROOT, 'config', 'presets'), dataDir, { recursive: true });
    await writeFile(join(dataDir, 'ama.public.json'), JSON.stringify({ preset: 'ama', cloud: 'public', entries: [{ pattern: '*.COM', ports: [443], source: 'x', checked: 'today' }] }));
    const result = await runCli(['config', 'check'], { env: { OMS_GATEWAY_PRESETS_DIR: dataDir } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /ama\.public\.json/);
    assert.match(result.stderr, /https:\/\/ URL/);
  });
});

describe('presets list and show', () => {
  test('list names every preset with its clouds and the data version', async () => {
    const result = await runCli(['presets', 'list', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const listed = JSON.parse(result.stdout) as { version: string; presets: { preset: string; clouds: string[] }[] };
    assert.equal(listed.version, '2026.12.05');
    assert.deepEqual(listed.presets.find((p) => p.preset === 'arc-gateway')?.clouds, ['public']);
    assert.deepEqual(listed.presets.find((p) => p.preset === 'kubernetes')?.clouds, ['public', 'usgov', 'china']);
  });

  test('show prints each entry with its ports, check date and Microsoft page; an undocumented cloud is an error', async () => {
    const shown = await runCli(['presets', 'show', 'azure-local']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^\*\.obo\.arc\.azure\.com .* 8084 +\d{4}-\d{2}-\d{2} +https:\/\/learn\.microsoft\.com\//m);
    const china = await runCli(['presets', 'show', 'arc-gateway', '--cloud', 'china']);
    assert.equal(china.code, 1);
    assert.match(china.stderr, /documents arc-gateway for cloud public, not china/);
    assert.equal((await runCli(['presets', 'show', 'mma'])).code, 2);
  });
});
