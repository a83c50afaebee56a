import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { configFileSchema } from '../../src/config/schema.js';

const EXAMPLE = fileURLToPath(new URL('../../../config/oms-gateway.example.yaml', import.meta.url));

/** Every key the schema accepts, as dotted paths (list items add no segment). */
function keyPaths(schema: z.ZodType, prefix = ''): string[] {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) {
    inner = inner.unwrap() as z.ZodType;
  }
  if (inner instanceof z.ZodArray) return keyPaths(inner.element as z.ZodType, prefix);
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => [
    `${prefix}${key}`,
    ...keyPaths(child, `${prefix}${key}.`),
  ]);
}

test('the example file loads and is exactly the default configuration', () => {
  const config = loadConfig({ path: EXAMPLE });
  assert.deepEqual(config, parseConfigText('', EXAMPLE));
});

test('the example file shows every setting, commented out where it has no safe active form', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const paths = keyPaths(configFileSchema);
  assert.ok(paths.includes('auth.users.passwordHash') && paths.includes('timeouts.keepAliveSeconds'));
  for (const path of paths) {
    const key = path.split('.').at(-1) ?? '';
    assert.match(text, new RegExp(`^[ ]*(?:# )?[ ]*(?:- )?${key}:`, 'm'), `${path} is not in the example`);
  }
});

test('the example file states a default for every top-level setting', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const blocks = text.split(/\n\n+/);
  for (const key of Object.keys(configFileSchema.shape)) {
    const block = blocks.find((b) => new RegExp(`^(?:# )?${key}:`, 'm').test(b)) ?? '';
    assert.match(block, /Default/, `${key} has no stated default`);
  }
});
