// The benchmark's smoke run, as CI runs it: `node dist/bench/run.js --smoke` starts the origin, the gateway
// and Squid, drives every path with tiny sizes, prints the table and writes the results. Nothing here
// checks a target: only that every measurement ran and produced figures.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../fixtures/gateway.js';
import { requireCommand } from '../fixtures/tools.js';
import { hangBound } from '../fixtures/patience.js';

interface AgentRun {
  readonly uploads: number;
  readonly errors: number;
  readonly firstError?: string;
}

interface AgentStep {
  readonly direct: AgentRun;
  readonly gateway: AgentRun;
}

interface Figure {
  readonly label: string;
  readonly values: Readonly<Record<string, number | null>>;
}

test('npm run bench --smoke: every path measured, table printed, results written', { timeout: hangBound(180_000) }, async (t) => {
  requireCommand('squid');
  requireCommand('hey');
  requireCommand('openssl');
  const out = await mkdtemp(join(tmpdir(), 'oms-gateway-bench-smoke-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const run = join(REPO_ROOT, 'dist', 'bench', 'run.js');
  const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
    const child = execFile(process.execPath, [run, '--smoke', '--out', out], { cwd: REPO_ROOT, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      resolve({ stdout, code: err === null ? 0 : child.exitCode });
    });
  });
  assert.equal(code, 0, stdout);
  for (const label of ['tunnel set-up rate', 'requests over 64 open tunnels', 'bulk download', 'CPU per GB relayed', 'memory per idle tunnel', 'agents carried']) {
    assert.match(stdout, new RegExp(label), `the table has no "${label}" row`);
  }
  const files = await readdir(out);
  const json = files.find((name) => name.endsWith('-smoke.json'));
  assert.ok(json, `no results file in ${files.join(', ')}`);
  assert.ok(files.some((name) => name.endsWith('-smoke.md')));
  const results = JSON.parse(await readFile(join(out, json), 'utf8')) as { figures: Figure[]; agents?: { steps: AgentStep[] } };
  const figure = (label: string): Figure => {
    const found = results.figures.find((f) => f.label.startsWith(label));
    assert.ok(found, `no figure "${label}"`);
    return found;
  };
  for (const label of ['tunnel set-up rate', 'requests over 64 open tunnels', 'bulk download', 'bulk upload']) {
    for (const path of ['direct', 'squid', 'gateway']) {
      const value = figure(label).values[path];
      assert.ok(typeof value === 'number' && value > 0, `${label}: ${path} = ${value}`);
    }
  }
  for (const path of ['squid', 'gateway']) {
    // Measured, though at smoke sizes it may round to 0: /proc counts CPU time in 10 ms ticks.
    const cpu = figure('CPU per GB relayed').values[path];
    assert.ok(typeof cpu === 'number' && Number.isFinite(cpu) && cpu >= 0, `no CPU figure for ${path}: ${cpu}`);
    assert.ok((figure('resident memory, idle').values[path] ?? 0) > 0, `no memory figure for ${path}`);
  }
  const step = results.agents?.steps[0];
  assert.ok(step !== undefined, 'no agent step ran');
  for (const path of ['direct', 'gateway'] as const) {
    assert.equal(step[path].errors, 0, `${path}: ${step[path].firstError}`);
    assert.equal(step[path].uploads, 2 * 20, `${path}: not every simulated agent uploaded twice`);
  }
});
