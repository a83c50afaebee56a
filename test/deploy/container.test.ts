// deploy/container/Dockerfile, checked without a container engine: the stages, the user, the signals path,
// and that the ports, paths and health check agree with what the gateway really does. The HEALTHCHECK
// one-liner is run for real against a running gateway.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { posix } from 'node:path';
import { HEALTH_PATH } from '../../src/observability/metrics-server.js';
import { startGateway } from '../fixtures/gateway.js';
import { all, copies, environment, execForm, healthCheck, last, parseDockerfile, type Stage } from './dockerfile.js';
import { defaultConfig, effectiveConfig, isWildcard, readRepoFile } from './effective.js';
import { hangBound } from '../fixtures/patience.js';

const dockerfile = parseDockerfile(readRepoFile('deploy', 'container', 'Dockerfile'));
const runtime = dockerfile.stages.at(-1) as Stage;
const workdir = last(runtime, 'WORKDIR')?.args ?? '/';
const env = Object.fromEntries(environment(runtime));
const packageJson = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
const defaults = defaultConfig();

/** Where a path inside the image came from: a file of the build context, found through the COPY instructions. */
function contextSourceOf(imagePath: string): string {
  for (const copy of copies(runtime)) {
    const destination = posix.resolve(workdir, copy.destination);
    if (copy.from === undefined && copy.sources.length === 1 && destination === imagePath) return copy.sources[0] ?? '';
  }
  throw new Error(`no COPY from the build context puts a file at ${imagePath}`);
}

/** The configuration the image's default command runs with, the image's own configuration file included. */
function imageConfig() {
  const cmd = execForm(last(runtime, 'CMD')?.args ?? '');
  assert.ok(cmd, 'CMD is in exec form');
  return effectiveConfig(cmd, env, (path) => readRepoFile(contextSourceOf(path)));
}

describe('container image', () => {
  test('is built in stages on a slim Node.js 20 base', () => {
    assert.ok(dockerfile.stages.length >= 2, 'multi-stage');
    for (const stage of dockerfile.stages) assert.match(stage.from, /^node:20(?:[.\d]*)-(?:bookworm-)?slim$/, `FROM ${stage.from}`);
  });

  test('carries production dependencies only, installed without the prepare script (tsc is not there)', () => {
    const installs = dockerfile.stages.flatMap((stage) => all(stage, 'RUN').map((run) => ({ stage, run: run.args })));
    const production = installs.filter(({ run }) => /\bnpm ci\b/.test(run) && /--omit=dev\b/.test(run));
    assert.equal(production.length, 1, 'one `npm ci --omit=dev`');
    const [{ stage: deps, run } = { stage: runtime, run: '' }] = production;
    assert.match(run, /--ignore-scripts\b/);
    assert.ok(deps.name !== undefined && deps !== runtime, 'installed in a stage of its own');
    const modules = copies(runtime).find((copy) => copy.from === deps.name);
    assert.ok(modules?.sources.some((source) => source.endsWith('node_modules')), 'node_modules copied from that stage');
    assert.ok(!all(runtime, 'RUN').some((r) => /\bnpm (ci|install)\b/.test(r.args)), 'no npm install in the final stage');
    const compiled = copies(runtime).find((copy) => copy.from !== undefined && copy.sources.some((source) => source.endsWith('dist/src')));
    assert.ok(compiled, 'the compiled dist/src comes from the build stage');
  });

  test('runs as an unprivileged user the image creates', () => {
    const user = last(runtime, 'USER')?.args ?? 'root';
    const [uid = ''] = user.split(':');
    assert.match(uid, /^\d+$/, 'a numeric UID, so runAsNonRoot can verify it');
    assert.notEqual(Number(uid), 0);
    const creates = all(runtime, 'RUN').some((r) => new RegExp(`useradd\\b[^&]*--uid ${uid}\\b`).test(r.args));
    assert.ok(creates, `a RUN creates the user with --uid ${uid}`);
    assert.ok(runtime.instructions.findIndex((i) => i.keyword === 'USER') > runtime.instructions.findLastIndex((i) => i.keyword === 'RUN'), 'nothing runs as root after USER');
  });

  test('starts node directly in exec form (no shell as PID 1), on the CLI the package publishes', () => {
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT')?.args ?? '');
    assert.ok(entrypoint, 'ENTRYPOINT is in exec form');
    assert.equal(entrypoint[0], 'node');
    assert.equal(entrypoint.at(-1), posix.join(workdir, packageJson.bin['oms-gateway'] ?? ''));
    assert.ok(execForm(last(runtime, 'CMD')?.args ?? ''), 'CMD is in exec form');
    assert.equal(last(runtime, 'STOPSIGNAL'), undefined, 'SIGTERM, the default stop signal, is what drains');
  });

  test('exposes the gateway default ports, with the metrics listener reachable from outside the container', () => {
    const exposed = new Set(all(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/)).map((port) => Number(port.replace(/\/tcp$/, ''))));
    const config = imageConfig();
    const ports = new Set([...config.listen.map((l) => l.port), config.metrics.listen.port]);
    assert.deepEqual(exposed, ports);
    assert.deepEqual(ports, new Set([...defaults.listen.map((l) => l.port), defaults.metrics.listen.port]));
    assert.ok(config.listen.every((l) => isWildcard(l.host)), 'proxy listeners on every address');
    assert.ok(isWildcard(config.metrics.listen.host), `metrics on ${config.metrics.listen.host}, which outside clients cannot reach`);
  });

  test('reads its configuration under /etc/oms-gateway and writes nothing outside mounted volumes', () => {
    assert.match(env.OMS_GATEWAY_CONFIG ?? '', /^\/etc\/oms-gateway\/[^/]+\.yaml$/);
    assert.equal(contextSourceOf(env.OMS_GATEWAY_CONFIG ?? ''), 'config/oms-gateway.example.yaml');
    const config = imageConfig();
    assert.equal(config.pidFile, undefined, 'no pid file on a read-only root');
    assert.equal(config.log.file, undefined, 'logs to standard output');
  });

  test('HEALTHCHECK asks the liveness endpoint, and its one-liner works against a real gateway', async () => {
    const check = healthCheck(runtime);
    assert.ok(check?.exec, 'HEALTHCHECK CMD in exec form');
    const [node, flag, script = ''] = check.exec;
    assert.deepEqual([node, flag], ['node', '-e']);
    const url = `http://127.0.0.1:${defaults.metrics.listen.port}${HEALTH_PATH}`;
    assert.ok(script.includes(`'${url}'`), `the script requests ${url}`);
    const seconds = (option: string): number => Number(/^(\d+)s$/.exec(check.options.get(option) ?? '')?.[1]);
    assert.ok(seconds('timeout') < seconds('interval'), 'timeout shorter than interval');

    const gateway = await startGateway();
    const port = new URL(gateway.metricsBaseUrl ?? 'http://127.0.0.1:0').port;
    const probe = (): number | null => spawnSync(process.execPath, ['-e', script.replace(url, `http://127.0.0.1:${port}${HEALTH_PATH}`)], { timeout: hangBound(10_000) }).status;
    try {
      assert.equal(probe(), 0, 'healthy gateway');
    } finally {
      await gateway.stop('SIGTERM');
    }
    assert.equal(probe(), 1, 'nothing listening');
  });
});

describe('build context filter (Dockerfile.dockerignore)', () => {
  const patterns = readRepoFile('deploy', 'container', 'Dockerfile.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  /** Docker's rule: the last pattern matching the path or one of its parent directories decides. */
  function included(path: string): boolean {
    let keep = true;
    for (const raw of patterns) {
      const negated = raw.startsWith('!');
      const pattern = posix.normalize(negated ? raw.slice(1) : raw).replace(/\/$/, '');
      assert.ok(pattern === '*' || !/[*?[]/.test(pattern), `pattern ${raw} is beyond this test's matcher`);
      const matches = pattern === '*' || path === pattern || path.startsWith(`${pattern}/`);
      if (matches) keep = negated;
    }
    return keep;
  }

  test('sends every file a COPY takes from the build context', () => {
    const sources = dockerfile.stages.flatMap((stage) => copies(stage).filter((c) => c.from === undefined).flatMap((c) => c.sources));
    assert.ok(sources.length > 0);
    for (const source of sources) assert.ok(included(posix.normalize(source).replace(/\/$/, '')), `${source} is filtered out of the context`);
  });

  test('keeps local builds, dependencies, certificates and history out', () => {
    for (const path of ['node_modules/yaml/package.json', 'dist/src/cli/main.js', 'certs/ca.key', '.git/HEAD', 'test/e2e/auth.test.ts']) {
      assert.equal(included(path), false, path);
    }
  });
});
