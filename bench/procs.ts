// What the benchmark reads about the processes under test from /proc: the whole process tree of a server
// (a gateway's supervisor and workers, Squid's master, coordinator and kids), its resident memory and the
// CPU time it has used.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The process and all its descendants. */
export function processTree(pid: number): number[] {
  const found = [pid];
  for (let i = 0; i < found.length; i += 1) {
    const parent = found[i];
    let children = '';
    try {
      for (const task of readdirTasks(parent ?? 0)) {
        children += ` ${readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8')}`;
      }
    } catch {
      continue;
    }
    for (const child of children.split(/\s+/).filter(Boolean)) found.push(Number(child));
  }
  return found;
}

function readdirTasks(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`);
}

/** Resident memory of the whole tree, in bytes. */
export function treeRssBytes(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${member}/status`, 'utf8'));
      total += Number(match?.[1] ?? 0) * 1024;
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return total;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User and system CPU time of the whole tree, in seconds (children that already exited are not counted). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const member of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${member}/stat`, 'utf8');
      // Fields after the command name, which may itself contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone already.
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * Time the given CPUs spent busy, in seconds: everything that ran on them (processes, interrupts, the kernel's
 * network work), from /proc/stat. The load CPUs' figure says what a path costs the origin and the load
 * generator, which a rate measured with the load CPUs saturated is the inverse of.
 */
export function cpusBusySeconds(cpus: readonly number[]): number {
  const wanted = new Set(cpus.map((cpu) => `cpu${cpu}`));
  let ticks = 0;
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const [name, ...fields] = line.split(/\s+/);
    if (name === undefined || !wanted.has(name)) continue;
    // user nice system idle iowait irq softirq steal (guest time is already in user): all but idle and iowait.
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    ticks += (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  }
  return ticks / TICKS_PER_SECOND;
}
