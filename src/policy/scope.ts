// Which scoping narrows an allowlist entry, for listings: `workspaces:` applies to entries at or below a
// workspace suffix (the name must be <id>.<suffix>), `regions:` to entries at or below a region-carrying
// suffix. Read from the compiled policy, with the functions decide() uses, so a listing says what is enforced.

import { workspaceOf, type CompiledPolicy } from './decide.js';
import { regionOf } from './regions.js';

export type Scope = 'workspaces' | 'regions';

/** The names an entry stands for, less its wildcard label: `*.a.b` and `x*.a.b` give `a.b`, `n.a.b` itself. */
function domainOf(pattern: string): { readonly name: string; readonly wildcard: boolean } {
  const wildcard = pattern.slice(0, pattern.indexOf('.') + 1).includes('*');
  return { name: wildcard ? pattern.slice(pattern.indexOf('.') + 1) : pattern, wildcard };
}

/** A wildcard over `name` reaches names below a suffix when `name` is at or below it, or above it. */
function overlaps(name: string, suffixes: Iterable<string>): boolean {
  for (const suffix of suffixes) if (name === suffix || name.endsWith(`.${suffix}`) || suffix.endsWith(`.${name}`)) return true;
  return false;
}

/** The scopings configured (non-empty) that narrow what this entry allows. */
export function entryScope(policy: CompiledPolicy, pattern: string): Scope[] {
  const { name, wildcard } = domainOf(pattern);
  const scopes: Scope[] = [];
  if (policy.workspaces.size > 0 && (wildcard ? overlaps(name, policy.workspaceSuffixes) : workspaceOf(policy, name) !== undefined)) scopes.push('workspaces');
  if (policy.regions.regions.size > 0 && (wildcard ? overlaps(name, policy.regions.suffixes.keys()) : regionOf(policy.regions, name).kind !== 'none')) scopes.push('regions');
  return scopes;
}
