// `auth.usersFile`: Basic-authentication users kept apart from the rest of the configuration — in a
// Kubernetes Secret beside a ConfigMap, or a file only the service account can read. The file has the form
// `oms-gateway user add NAME --config FILE` writes, `auth: {users: [...]}` (the `auth.mode` that command
// also writes is allowed and ignored: the main configuration decides the mode). It is read with the
// configuration, so `config check`, start and every reload see the users it holds now.

import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { readYaml } from './document.js';
import type { Parsed } from './forms.js';
import { fromZodIssues, type ConfigIssue } from './issues.js';
import type { UserConfig } from '../auth/config-types.js';

export interface UsersFile {
  readonly path: string;
  readonly users: readonly UserConfig[];
}

const ONLY_USERS = 'a users file holds auth.users only (as `oms-gateway user add NAME --config FILE` writes it)';

function describe(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => `${issue.line === undefined ? '' : `line ${issue.line}, `}${issue.key === '' ? '' : `${issue.key}: `}${issue.message}`)
    .join('; ');
}

/** `user` is the configuration's own schema of one user, so both places accept exactly the same entries. */
export function readUsersFile(path: string, user: z.ZodType<UserConfig, unknown>): Parsed<UsersFile> {
  if (!isAbsolute(path)) return { ok: false, message: 'expected an absolute path, e.g. /etc/oms-gateway/users.yaml' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const yaml = readYaml(text);
  if (!yaml.ok) return { ok: false, message: `${path}: ${describe(yaml.issues)}` };
  const shape = z.strictObject(
    {
      auth: z.strictObject(
        {
          mode: z.unknown().optional(),
          users: z.array(user, { error: 'expected a list of users (name, passwordHash)' }),
        },
        { error: (issue) => (issue.code === 'unrecognized_keys' ? ONLY_USERS : 'expected a mapping with users') },
      ),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? ONLY_USERS : `expected auth.users; ${ONLY_USERS}`) },
  );
  const parsed = shape.safeParse(yaml.value ?? {});
  if (!parsed.success) return { ok: false, message: `${path}: ${describe(fromZodIssues(parsed.error.issues, yaml.locate))}` };
  const users = parsed.data.auth.users;
  const seen = new Set<string>();
  for (const [index, { name }] of users.entries()) {
    if (seen.has(name)) return { ok: false, message: `${path}: auth.users[${index}].name: same name as an earlier user; user names must be unique` };
    seen.add(name);
  }
  return { ok: true, value: { path, users } };
}
