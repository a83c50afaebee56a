// The preset data shipped with the package (`config/presets/`): `version.json` and one file per preset and
// cloud, `<preset>.<cloud>.json`. Read and validated with every configuration load (start, reload, the
// commands), so a reload is what applies new data, and it says which entries it adds (config/preset-changes.ts).
// Anything wrong with the data is a ConfigError naming the file: the running configuration is kept.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parsePattern } from '../policy/patterns.js';
import { deepFreeze } from './freeze.js';
import { ConfigError, type ConfigIssue } from './issues.js';
import { AGENTS, CLOUDS, type PresetData, type PresetDataFile } from '../policy/config-types.js';

/**
 * Overrides the directory of the installed data, for tests that edit a copy of it (test/e2e/presets.test.ts)
 * and for an operator trying out a newer copy with `presets diff` before installing it.
 */
export const PRESETS_DIR_ENV = 'OMS_GATEWAY_PRESETS_DIR';
/** The format this code reads; a newer package's data with a higher number is refused, not misread. */
const FORMAT = 1;
const VERSION_FILE = 'version.json';
/** From dist/src/config/ (or src/config/) to the package's config/presets/. */
const INSTALLED = fileURLToPath(new URL('../../../config/presets/', import.meta.url));

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const entrySchema = z.strictObject({
  pattern: z.string().transform((text, ctx) => {
    const parsed = parsePattern(text);
    if (parsed.ok && parsed.pattern === text) return text;
    ctx.issues.push({ code: 'custom', message: parsed.ok ? `write it normalised: "${parsed.pattern}"` : parsed.message, input: text });
    return z.NEVER;
  }),
  ports: z.array(z.number().int().min(1).max(65_535)).min(1),
  source: z.string().regex(/^https:\/\/\S+$/, { error: 'expected the https:// URL of the Microsoft page' }),
  checked: z.string().regex(DATE, { error: 'expected the date it was checked, YYYY-MM-DD' }),
  note: z.string().optional(),
});

const fileSchema = z.strictObject({
  preset: z.enum(AGENTS),
  cloud: z.enum(CLOUDS),
  entries: z.array(entrySchema).min(1),
});

const versionSchema = z.strictObject({
  format: z.literal(FORMAT, { error: `expected format ${FORMAT}; this data is for another version of oms-gateway` }),
  version: z.string().regex(/^[0-9][0-9A-Za-z.-]{0,63}$/, { error: 'expected a version such as 2026.12.05' }),
});

/** The data directory: the environment override when set and not empty, else the installed one. */
export function presetsDir(env: NodeJS.ProcessEnv): string {
  const dir = env[PRESETS_DIR_ENV];
  return dir === undefined || dir === '' ? INSTALLED : dir;
}

function readJson<T>(path: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const reason = err instanceof SyntaxError ? `not JSON: ${err.message}` : `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new ConfigError(path, [{ key: '', line: undefined, message: reason }]);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = result.error.issues.map((issue) => ({ key: issue.path.map(String).join('.'), line: undefined, message: issue.message }));
  throw new ConfigError(path, issues);
}

/** Reads and validates every file of `dir` into a deep-frozen PresetData. Throws ConfigError. */
export function loadPresetData(dir: string): PresetData {
  const { version } = readJson(join(dir, VERSION_FILE), versionSchema);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json') && name !== VERSION_FILE).sort();
  } catch (err) {
    throw new ConfigError(dir, [{ key: '', line: undefined, message: `cannot read the preset data (${(err as NodeJS.ErrnoException).code ?? 'error'})` }]);
  }
  const files: PresetDataFile[] = names.map((name) => {
    const path = join(dir, name);
    const file = readJson(path, fileSchema);
    if (name !== `${file.preset}.${file.cloud}.json`) {
      throw new ConfigError(path, [{ key: '', line: undefined, message: `holds ${file.preset} for ${file.cloud}: name it ${file.preset}.${file.cloud}.json` }]);
    }
    return { preset: file.preset, cloud: file.cloud, entries: file.entries.map(({ note, ...entry }) => (note === undefined ? entry : { ...entry, note })) };
  });
  // Canonical order (the order of AGENTS, then of CLOUDS), whatever the directory listing's: hints prefer the earlier preset.
  const rank = (file: PresetDataFile): number => AGENTS.indexOf(file.preset) * CLOUDS.length + CLOUDS.indexOf(file.cloud);
  return deepFreeze({ version, files: files.sort((a, b) => rank(a) - rank(b)) });
}
