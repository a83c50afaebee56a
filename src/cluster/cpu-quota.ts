// The CPU time a cgroup lets this process use, as a number of CPUs. A container or pod limited to one CPU on
// a 16-core node still sees 16 cores in its affinity mask; `workers: auto` must count the quota too, or 16
// workers share one CPU's time and each is throttled in turn. Both cgroup versions are read: v2's `cpu.max`
// ("max 100000" or "QUOTA PERIOD") and v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none). A quota set
// on an ancestor cgroup binds its descendants, so every level from the process's own up to the mount's root
// is read and the smallest quota wins.

import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

/** Reads a text file; undefined when it does not exist or cannot be read. */
export type ReadText = (path: string) => string | undefined;

const readReal: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

interface CgroupMount {
  readonly version: 1 | 2;
  /** Where the hierarchy is mounted. */
  readonly mountPoint: string;
  /** The cgroup path that the mount's root stands for (a container sees its own cgroup as `/`). */
  readonly root: string;
}

/** The cpu controller's mount from /proc/self/mountinfo: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS`. */
function cpuMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const [fsType, , superOptions = ''] = right.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    if (fsType === 'cgroup2') mounts.push({ version: 2, mountPoint, root });
    else if (fsType === 'cgroup' && superOptions.split(',').includes('cpu')) mounts.push({ version: 1, mountPoint, root });
  }
  return mounts;
}

/** The process's cgroup path in a hierarchy, from /proc/self/cgroup (`ID:CONTROLLERS:PATH`). */
function cgroupPath(procCgroup: string, version: 1 | 2): string | undefined {
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (match === null) continue;
    const [, id, controllers = '', path = ''] = match;
    if (version === 2 && id === '0' && controllers === '') return path;
    if (version === 1 && controllers.split(',').includes('cpu')) return path;
  }
  return undefined;
}

/** CPUs one cgroup directory allows; undefined when it sets no quota. */
function quotaAt(read: ReadText, dir: string, version: 1 | 2): number | undefined {
  if (version === 2) {
    const [quota, period] = (read(join(dir, 'cpu.max')) ?? '').trim().split(/\s+/);
    return cpus(Number(quota), Number(period));
  }
  return cpus(Number(read(join(dir, 'cpu.cfs_quota_us'))), Number(read(join(dir, 'cpu.cfs_period_us'))));
}

function cpus(quota: number, period: number): number | undefined {
  return Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0 ? quota / period : undefined;
}

/**
 * The CPUs this process's cgroup quota allows (fractional, e.g. 1.5), or undefined when no level sets one or
 * the files cannot be read. `read` and `procRoot` exist for tests of layouts this machine does not have.
 */
export function cgroupCpuQuota(read: ReadText = readReal, procRoot = '/proc/self'): number | undefined {
  const mountinfo = read(join(procRoot, 'mountinfo'));
  const procCgroup = read(join(procRoot, 'cgroup'));
  if (mountinfo === undefined || procCgroup === undefined) return undefined;
  let smallest: number | undefined;
  for (const mount of cpuMounts(mountinfo)) {
    const path = cgroupPath(procCgroup, mount.version);
    if (path === undefined) continue;
    // The part of the process's path below the mount's root; outside it (another namespace's view) only the root is visible.
    const relative = posix.relative(mount.root, path);
    let inside = relative.startsWith('..') ? '' : relative;
    for (;;) {
      const quota = quotaAt(read, join(mount.mountPoint, inside), mount.version);
      if (quota !== undefined && (smallest === undefined || quota < smallest)) smallest = quota;
      if (inside === '' || inside === '.') break;
      inside = posix.dirname(inside) === '.' ? '' : posix.dirname(inside);
    }
  }
  return smallest;
}
