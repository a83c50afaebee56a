// Edits of the configuration file by the CLI: comments and layout kept (yaml Document API), the whole
// result validated by the real loader before anything is written, then written atomically.
import { readFile, stat } from 'node:fs/promises';
import { parseDocument, type Document } from 'yaml';
import { ConfigError } from './issues.js';
import { parseConfigText } from './load.js';
import type { GatewayConfig } from './types.js';
import { writeFileAtomic } from './write.js';

export interface EditResult {
  readonly created: boolean;
  readonly config: GatewayConfig;
}

/**
 * Applies `mutate` to the file's YAML document and writes it back if the result is a valid configuration.
 * A missing file is created when `create` is true. Throws ConfigError (nothing written) when invalid.
 */
export async function editConfigFile(path: string, mutate: (doc: Document) => void, options: { create: boolean }): Promise<EditResult> {
  const existing = await readExisting(path);
  if (existing === undefined && !options.create) {
    throw Object.assign(new Error(`${path}: no such configuration file`), { code: 'ENOENT' });
  }
  const doc = parseDocument(existing?.text ?? '', { keepSourceTokens: true });
  // A file that is not YAML at all: let the loader throw its ConfigError, which names the line.
  if (doc.errors.length > 0) parseConfigText(existing?.text ?? '', path);
  mutate(doc);
  const text = doc.toString();
  const config = validateEdit(text, existing?.text, path);
  const holdsSecrets = config.auth.users.length > 0 || config.metrics.users.length > 0 || config.relayProxy?.password !== undefined;
  const mode = holdsSecrets ? 0o600 : (existing?.mode ?? 0o644);
  await writeFileAtomic(path, text, mode);
  return { created: existing === undefined, config };
}

/**
 * The edited text as a configuration. When the edit is what makes it invalid, its issues name keys but no
 * lines: those would be lines of a text that is never written. A file that was invalid already keeps its lines.
 */
function validateEdit(text: string, before: string | undefined, path: string): GatewayConfig {
  try {
    return parseConfigText(text, path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (before !== undefined) parseConfigText(before, path);
    throw new ConfigError(`${path} (not changed: the edit would make it invalid)`, err.issues.map((issue) => ({ ...issue, line: undefined })));
  }
}

async function readExisting(path: string): Promise<{ text: string; mode: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mode: info.mode & 0o777 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
