// What a refused configuration looks like to the operator: one issue per problem, each naming the key (or the
// command-line flag), the line and what was expected, all reported at once so one edit fixes them all.

import type { z } from 'zod';

export interface ConfigIssue {
  /** Dotted path such as `auth.users[0].name`; a flag such as `--listen`; '' for the file as a whole. */
  readonly key: string;
  readonly line: number | undefined;
  /** What was expected. Never contains a secret value. */
  readonly message: string;
}

/** Finds the line of a key path in the source text, or of its nearest ancestor that exists there. */
export type Locate = (path: readonly PropertyKey[]) => number | undefined;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `auth.users[0].name`; keys that are not identifiers are quoted so that they cannot pass for a path or a flag. */
export function formatKey(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => {
      if (typeof part === 'number') return `[${part}]`;
      const name = String(part);
      if (!IDENTIFIER.test(name)) return `[${JSON.stringify(name)}]`;
      return index === 0 ? name : `.${name}`;
    })
    .join('');
}

function isFlagIssue(issue: ConfigIssue): boolean {
  return issue.key.startsWith('--');
}

/** `<source>:<line>: <key>: <expected>`; a flag's issue reads `--listen "x": expected ...` as typed on the command line. */
function formatIssue(source: string, issue: ConfigIssue): string {
  if (isFlagIssue(issue)) return `${issue.key} ${issue.message}`;
  const where = issue.line === undefined ? source : `${source}:${issue.line}`;
  return issue.key === '' ? `${where}: ${issue.message}` : `${where}: ${issue.key}: ${issue.message}`;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(source, issue)).join('\n'));
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }
}

/** File issues in the order of the file, then flag issues; zod reports in schema order. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rank = (issue: ConfigIssue): number => (isFlagIssue(issue) ? 2 ** 40 : (issue.line ?? 2 ** 39));
  return [...issues].sort((a, b) => rank(a) - rank(b));
}

/** One issue per zod issue, except that each unknown key becomes its own issue on its own line. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], locate: Locate): ConfigIssue[] {
  return issues.flatMap((issue) => {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    return paths.map((path) => ({ key: formatKey(path), line: locate(path), message: issue.message }));
  });
}
