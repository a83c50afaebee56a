// Every way the project starts the gateway gives node the same options: `npm start`, the systemd unit, the
// container's entrypoint and the CLI's shebang (and the benchmark, which reads them from `npm start`). They
// hold V8's young generation at the size an idle gateway already has (--max-semi-space-size=8): without it the
// young generation doubled during a burst of tunnel set-ups and never shrank while the tunnels were idle,
// 16 MiB of the 31 the gateway grew by holding 1,000 idle tunnels; and they leave scavenges to a full young
// generation (--no-minor-gc-task): with V8's scavenge task, one fresh gateway in three or four grew about
// 5 MiB more old generation holding 1,000 tunnels (docs/performance.md).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { launcherNodeOptions, nodeOptionsOf } from '../../bench/servers.js';
import { REPO_ROOT } from '../fixtures/gateway.js';
import { hangBound } from '../fixtures/patience.js';
import { execForm, last, parseDockerfile, type Stage } from './dockerfile.js';
import { readRepoFile } from './effective.js';

const fromNpmStart = launcherNodeOptions();

describe('node options of the gateway launchers', () => {
  test('npm start holds the young generation at 8 MiB semi-spaces and scavenges it only when full', () => {
    assert.deepEqual(fromNpmStart, ['--max-semi-space-size=8', '--no-minor-gc-task']);
  });

  test('the systemd unit gives the same options', () => {
    const execStart = readRepoFile('deploy', 'systemd', 'oms-gateway.service')
      .split('\n')
      .find((line) => line.startsWith('ExecStart='));
    assert.ok(execStart);
    assert.deepEqual(nodeOptionsOf(execStart.slice('ExecStart='.length).split(/\s+/)), fromNpmStart);
  });

  test("the container's entrypoint gives the same options", () => {
    const runtime = parseDockerfile(readRepoFile('deploy', 'container', 'Dockerfile')).stages.at(-1) as Stage;
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT')?.args ?? '');
    assert.ok(entrypoint);
    assert.deepEqual(entrypoint.slice(1, -1), fromNpmStart);
  });

  test("the CLI's shebang gives the same options, in the source and in the build", () => {
    for (const file of [join('src', 'cli', 'main.ts'), join('dist', 'src', 'cli', 'main.js')]) {
      const shebang = readRepoFile(file).split('\n')[0] ?? '';
      assert.equal(shebang, `#!/usr/bin/env -S node ${fromNpmStart.join(' ')}`, file);
    }
  });

  test('node accepts them: the CLI runs with them', () => {
    const result = spawnSync(process.execPath, [...fromNpmStart, join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), '--version'], {
      encoding: 'utf8',
      timeout: hangBound(30_000),
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /\d+\.\d+\.\d+/);
  });
});
