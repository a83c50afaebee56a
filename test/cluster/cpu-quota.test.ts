// `workers: auto` counts the cgroup CPU quota as well as the cores: a pod limited to one CPU on a large node
// runs one worker. Layouts this machine cannot have (cgroup v2, a container's view) are read from files the
// test lays out; the v1 hierarchy here is exercised for real in a cgroup the test creates.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cgroupCpuQuota, type ReadText } from '../../src/cluster/cpu-quota.js';
import { workerCount } from '../../src/cluster/share.js';

function files(entries: Record<string, string>): ReadText {
  return (path) => entries[path];
}

const V2_MOUNT = '35 24 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';
const V1_MOUNT = '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n';

describe('cgroupCpuQuota', () => {
  test('cgroup v2: QUOTA PERIOD in cpu.max is a number of CPUs', () => {
    const read = files({
      '/proc/self/mountinfo': V2_MOUNT,
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000\n',
    });
    assert.equal(cgroupCpuQuota(read), 1.5);
  });

  test('cgroup v2: "max" is no quota, and an ancestor quota binds the process', () => {
    const read = files({
      '/proc/self/mountinfo': V2_MOUNT,
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '200000 100000\n',
      '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000\n',
    });
    assert.equal(cgroupCpuQuota(read), 2);
  });

  test("cgroup v2 inside a container: the container's own cgroup is the mount's root", () => {
    const read = files({
      '/proc/self/mountinfo': '900 800 0:30 /kubepods/pod1/ctr /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n',
      '/proc/self/cgroup': '0::/\n',
      '/sys/fs/cgroup/cpu.max': '100000 100000\n',
    });
    assert.equal(cgroupCpuQuota(read), 1);
  });

  test('cgroup v1: cfs quota over period, -1 for none', () => {
    const limited = files({
      '/proc/self/mountinfo': V1_MOUNT,
      '/proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '50000\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    });
    assert.equal(cgroupCpuQuota(limited), 0.5);
    const unlimited = files({
      '/proc/self/mountinfo': V1_MOUNT,
      '/proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    });
    assert.equal(cgroupCpuQuota(unlimited), undefined);
  });

  test('no cgroup files (another OS, a locked-down /proc): no quota', () => {
    assert.equal(cgroupCpuQuota(files({})), undefined);
  });
});

describe('workerCount with a quota', () => {
  const cases = [
    { cores: 16, quota: 1, expected: 1 },
    { cores: 16, quota: 1.5, expected: 1 },
    { cores: 16, quota: 4, expected: 4 },
    { cores: 2, quota: 8, expected: 2 },
    { cores: 16, quota: 0.25, expected: 1 },
    { cores: 4, quota: undefined, expected: 4 },
  ] as const;
  for (const { cores, quota, expected } of cases) {
    test(`auto on ${cores} cores with a quota of ${quota ?? 'none'} → ${expected}`, () => assert.equal(workerCount('auto', cores, quota), expected));
  }
  test('a number is kept whatever the quota', () => assert.equal(workerCount(3, 16, 1), 3));
});

test('a process in a real cgroup limited to 1.5 CPUs counts one worker for auto', (t) => {
  const dir = `/sys/fs/cgroup/cpu/oms-gateway-test-${process.pid}`;
  try {
    mkdirSync(dir);
  } catch (err) {
    t.skip(`cannot create a v1 cpu cgroup here (${(err as NodeJS.ErrnoException).code})`);
    return;
  }
  try {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), '150000');
    const share = pathToFileURL(join(import.meta.dirname, '../../src/cluster/share.js')).href;
    const script = `import(${JSON.stringify(share)}).then((m) => console.log(m.workerCount('auto', 16)))`;
    // The shell moves itself into the cgroup, then becomes node: the count is read from inside it.
    const run = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '1');
  } finally {
    rmdirSync(dir);
  }
});
