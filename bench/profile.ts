// Reads the V8 CPU profiles the gateway's processes wrote (node --cpu-prof) and sums time per function, so a
// missed target comes with where the time went rather than a guess: self time for every function, and time
// including callees for the gateway's own (a cost spread over Node's internals shows under its caller).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
}

export interface Frame {
  readonly frame: string;
  readonly percent: number;
}

export interface ProfileSummary {
  /** Functions by self time, as a share of all samples (idle included). */
  readonly self: readonly Frame[];
  /** The gateway's own functions (dist/src/) by time including their callees. */
  readonly inclusive: readonly Frame[];
}

function describe(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\/.*\/(node_modules|dist)\//, '$1/');
  const name = functionName === '' ? '(anonymous)' : functionName;
  return file === '' ? name : `${name} ${file}:${lineNumber + 1}`;
}

const OWN_CODE = /^file:\/\/.*\/dist\/src\//;

/** Adds each function's hits, and its subtree's hits to its own code's inclusive time once per stack. */
function tally(profile: CpuProfile, self: Map<string, number>, inclusive: Map<string, number>): number {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  let total = 0;
  // Iterative depth-first walk: profiles nest deeper than a recursive walk's stack should be trusted with.
  const walk = (root: ProfileNode): void => {
    const open: { node: ProfileNode; onStack: ReadonlySet<string> }[] = [];
    const subtree = new Map<ProfileNode, number>();
    const order: { node: ProfileNode; key: string; counts: boolean }[] = [];
    open.push({ node: root, onStack: new Set() });
    while (open.length > 0) {
      const { node, onStack } = open.pop() as (typeof open)[number];
      const key = describe(node);
      const own = OWN_CODE.test(node.callFrame.url);
      // A function already on the stack (recursion) has this time counted at its outer call.
      order.push({ node, key, counts: own && !onStack.has(key) });
      const next = own ? new Set([...onStack, key]) : onStack;
      for (const id of node.children ?? []) {
        const child = byId.get(id);
        if (child !== undefined) open.push({ node: child, onStack: next });
      }
    }
    // Children come after their parents in `order`: summing it backwards gives every subtree's hits.
    for (let i = order.length - 1; i >= 0; i -= 1) {
      const { node } = order[i] as (typeof order)[number];
      let hits = node.hitCount ?? 0;
      for (const id of node.children ?? []) hits += subtree.get(byId.get(id) as ProfileNode) ?? 0;
      subtree.set(node, hits);
    }
    for (const { node, key, counts } of order) {
      const hits = node.hitCount ?? 0;
      total += hits;
      if (hits > 0) self.set(key, (self.get(key) ?? 0) + hits);
      if (counts) inclusive.set(key, (inclusive.get(key) ?? 0) + (subtree.get(node) ?? 0));
    }
  };
  for (const node of profile.nodes) if (!childIds.has(node.id)) walk(node);
  return total;
}

function top(hits: Map<string, number>, total: number, count: number): Frame[] {
  return [...hits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, n]) => ({ frame, percent: total === 0 ? 0 : (100 * n) / total }));
}

/** The `count` top functions by self time and by inclusive time over every profile in `dir`. */
export async function summariseProfiles(dir: string, count = 15): Promise<ProfileSummary> {
  const files = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.cpuprofile'));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    total += tally(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile, self, inclusive);
  }
  return { self: top(self, total, count), inclusive: top(inclusive, total, count) };
}

/** The summary as text: two columns of `percent  frame` lines under their headings. */
export function profileText(summary: ProfileSummary): string {
  const lines = (frames: readonly Frame[]): string[] => frames.map((f) => `${f.percent.toFixed(1).padStart(5)} %  ${f.frame}`);
  return [
    'self time:',
    ...lines(summary.self),
    '',
    "the gateway's own functions, time including callees:",
    ...lines(summary.inclusive),
  ].join('\n');
}
