// The configuration file as `config get` and `config set` see it: keys as written in the file (the schema's
// shape, not the effective configuration's), each with its value from the file or else its default, in the
// file's own string forms. Values of keys named password or passwordHash never leave this module.

import { z } from 'zod';
import { readYaml } from './document.js';
import { formatListenAddress } from './forms.js';
import { parseConfigText } from './load.js';
import { configFileSchema } from './schema.js';

export interface SettingKey {
  /** Dotted path as written in the file, e.g. `timeouts.connectSeconds`. */
  readonly path: string;
  /** The value is a list: `config set` turns a single value into a one-item list. */
  readonly list: boolean;
  /** The value is a mapping of further settings. */
  readonly mapping: boolean;
}

export interface Setting {
  readonly key: string;
  readonly value: unknown;
  /** 'file' when the file sets the key, else 'default'. */
  readonly source: 'file' | 'default';
}

export const REDACTED = '[redacted]';
const SECRET_NAMES = new Set(['password', 'passwordHash']);

function unwrap(schema: z.ZodType): z.ZodType {
  let inner: z.ZodType = schema;
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
    else if (inner instanceof z.ZodPipe && (inner.out instanceof z.ZodArray || inner.out instanceof z.ZodObject)) inner = inner.out as z.ZodType;
    else return inner;
  }
}

function keysOf(schema: z.ZodType, prefix: string): SettingKey[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([name, child]) => {
    const path = `${prefix}${name}`;
    const shape = unwrap(child);
    const key: SettingKey = { path, list: shape instanceof z.ZodArray, mapping: shape instanceof z.ZodObject };
    return [key, ...keysOf(child, `${path}.`)];
  });
}

/** Every key of the file, mappings and their settings alike (list items are not keys). */
export const SETTING_KEYS: readonly SettingKey[] = Object.freeze(keysOf(configFileSchema, ''));

export function findSettingKey(path: string): SettingKey | undefined {
  return SETTING_KEYS.find((key) => key.path === path);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isListener(value: Record<string, unknown>): boolean {
  return typeof value.host === 'string' && typeof value.port === 'number' && typeof value.optional === 'boolean';
}

/** Defaults come out of the schema parsed; listeners are turned back into their `HOST:PORT` form. */
function fileForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fileForm);
  if (!isRecord(value)) return value;
  if (isListener(value)) return formatListenAddress({ host: String(value.host), port: Number(value.port) });
  return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, fileForm(child)]));
}

/** The file's value over the default; an empty key (`name:` with nothing after it) means the default. */
function merge(defaults: unknown, file: unknown): unknown {
  if (file === undefined || file === null) return defaults;
  if (!isRecord(defaults) || !isRecord(file)) return file;
  const names = new Set([...Object.keys(defaults), ...Object.keys(file)]);
  return Object.fromEntries([...names].map((name) => [name, merge(defaults[name], file[name])]));
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, SECRET_NAMES.has(name) && child !== undefined ? REDACTED : redact(child)]));
}

function at(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const part of path) node = isRecord(node) ? node[part] : undefined;
  return node;
}

/**
 * The settings of a configuration file (`text`, named `source` in messages), validated in full by the
 * loader first. Throws ConfigError when the file is not a valid configuration.
 */
export function readSettings(text: string, source: string): { get(path: string): Setting; all(): Setting[] } {
  parseConfigText(text, source);
  const yaml = readYaml(text);
  const file = yaml.ok ? yaml.value : undefined;
  const settings = redact(merge(fileForm(configFileSchema.parse({})), file));
  const fromFile = (parts: readonly string[]): boolean => {
    const value = at(file, parts);
    return value !== undefined && value !== null;
  };
  const get = (path: string): Setting => {
    const parts = path.split('.');
    return { key: path, value: at(settings, parts) ?? null, source: fromFile(parts) ? 'file' : 'default' };
  };
  return {
    get,
    all: () => SETTING_KEYS.filter((key) => !key.mapping).map((key) => get(key.path)),
  };
}
