// The workspace a request is for, as a metric label: the first label of `<id>.ods.opinsights.azure.com`
// (and the other workspace-carrying names of every cloud) when it is a workspace ID. Any client can ask for
// any such name, so the number of distinct values is capped: past the cap, new IDs share one label.
import { CLOUDS } from '../policy/config-types.js';
import { workspaceId, workspaceSuffixes } from '../policy/defaults.js';

/** Label of the workspaces seen after the cap was reached. */
export const OTHER_WORKSPACES = 'other';

const SUFFIXES: ReadonlySet<string> = new Set(CLOUDS.flatMap(workspaceSuffixes));

export class WorkspaceLabels {
  readonly #max: number;
  readonly #seen = new Set<string>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The label for `host` (normalised: lower case, no trailing dot), or undefined when it names no workspace. */
  of(host: string): string | undefined {
    const dot = host.indexOf('.');
    if (dot <= 0 || !SUFFIXES.has(host.slice(dot + 1))) return undefined;
    const id = workspaceId(host.slice(0, dot));
    if (id === undefined) return undefined;
    if (this.#seen.has(id)) return id;
    if (this.#seen.size >= this.#max) return OTHER_WORKSPACES;
    this.#seen.add(id);
    return id;
  }
}
