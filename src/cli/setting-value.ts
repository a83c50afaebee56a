// The VALUE of `config set KEY VALUE`, read as YAML. A plain YAML scalar may not start with an indicator
// character, and some of them change the value without an error (`&a x` is "x", `!t x` is "x"), while `*` is
// read as an alias (`*.x=10.0.0.5` fails on the "anchor" `.x=10.0.0.5`): such a value is refused with its
// quoted form, which is what the operator meant.
import { parse as parseYaml } from 'yaml';
import { UsageError } from './errors.js';

const INDICATORS: Readonly<Record<string, string>> = {
  '*': 'an alias',
  '&': 'an anchor',
  '!': 'a tag',
  '%': 'a directive',
  '@': 'a reserved character',
  '`': 'a reserved character',
  '|': 'a block scalar',
  '>': 'a folded block scalar',
};

/** The value as a YAML single-quoted scalar, and as one shell word when it is plain enough to show so. */
function quotedForm(key: string, text: string): string {
  const yaml = `'${text.replace(/'/g, "''")}'`;
  return /^[\w.*=:,/@&!%|>`' -]+$/.test(text) && !text.includes('`') ? `oms-gateway config set ${key} "${yaml}"` : `the YAML value ${yaml}`;
}

export function parseSettingValue(key: string, text: string): unknown {
  const first = text.trimStart()[0] ?? '';
  const meaning = INDICATORS[first];
  if (meaning !== undefined) {
    throw new UsageError(`config set: the VALUE of ${key} starts with "${first}", which YAML reads as ${meaning}; quote it: ${quotedForm(key, text)}`);
  }
  try {
    return parseYaml(text, { logLevel: 'error' }) as unknown;
  } catch {
    throw new UsageError(`config set: the VALUE of ${key} is not valid YAML; quote text that has ':' or '[' in it: ${quotedForm(key, text)}`);
  }
}
