// Reads the V8 CPU profiles the gateway's processes wrote (node --cpu-prof) and sums self time per function,
// so a missed target comes with where the time went rather than a guess.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface Frame {
  readonly frame: string;
  readonly selfPercent: number;
}

function describe(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\/.*\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:');
  const name = functionName === '' ? '(anonymous)' : functionName;
  return file === '' ? name : `${name} ${file}:${lineNumber + 1}`;
}

/** The `top` functions by self time over every profile in `dir`, as a share of all samples. */
export async function topFrames(dir: string, top = 15): Promise<Frame[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  const selfHits = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      if (hits === 0) continue;
      total += hits;
      const key = describe(node);
      selfHits.set(key, (selfHits.get(key) ?? 0) + hits);
    }
  }
  return [...selfHits]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, hits]) => ({ frame, selfPercent: total === 0 ? 0 : (100 * hits) / total }));
}
