// YAML text → plain value, with a way back from a key path to its line. Anything the YAML parser only warns
// about, and duplicate keys (where the parser would keep the last one silently), is refused here: the file
// must mean exactly one thing. Parser messages are cut to their fixed part because some of them quote
// source text, and a quoted token could be a password hash.

import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type YAMLError } from 'yaml';
import { formatKey, type ConfigIssue, type Locate } from './issues.js';

export type YamlResult =
  | { readonly ok: true; readonly value: unknown; readonly locate: Locate }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

type Position = (offset: number) => number;

function fixedPart(message: string): string {
  const firstLine = message.split('\n')[0] ?? '';
  const beforeDetail = firstLine.split(': ')[0] ?? '';
  return beforeDetail.replace(/\s*"[^"]*"/g, '').trim();
}

/** Where the parser's wording speaks to a programmer rather than to whoever edits the file. */
const OPERATOR_WORDING: Partial<Record<YAMLError['code'], string>> = {
  MULTIPLE_DOCS: 'expected a single document; remove the second "---"',
  TAG_RESOLVE_FAILED: 'tags such as !name are not supported; write plain values',
};

function yamlIssue(error: YAMLError, lineOf: Position): ConfigIssue {
  const wording = OPERATOR_WORDING[error.code] ?? fixedPart(error.message);
  return { key: '', line: lineOf(error.pos[0]), message: `YAML syntax (${error.code}): ${wording}` };
}

function startLine(node: unknown, lineOf: Position): number | undefined {
  if (isScalar(node) || isMap(node) || isSeq(node) || isAlias(node)) {
    return node.range === undefined || node.range === null ? undefined : lineOf(node.range[0]);
  }
  return undefined;
}

/** Keys must be plain scalars and unique within their mapping; walks the tree without following aliases. */
function keyIssues(node: unknown, path: PropertyKey[], lineOf: Position, issues: ConfigIssue[]): void {
  if (isSeq(node)) {
    node.items.forEach((item, index) => keyIssues(item, [...path, index], lineOf, issues));
    return;
  }
  if (!isMap(node)) return;
  const seen = new Set<string>();
  for (const pair of node.items) {
    if (!isScalar(pair.key)) {
      const line = startLine(pair.key, lineOf) ?? startLine(node, lineOf);
      issues.push({ key: formatKey(path), line, message: 'expected plain text as a key' });
      continue;
    }
    const name = String(pair.key.value);
    const keyPath = [...path, name];
    if (seen.has(name)) {
      issues.push({ key: formatKey(keyPath), line: startLine(pair.key, lineOf), message: 'duplicate key; write each key once' });
    }
    seen.add(name);
    keyIssues(pair.value, keyPath, lineOf, issues);
  }
}

/**
 * The line of the deepest part of `path` present in the document. A key's own line is used rather than its
 * value's, so `listen:` followed by a wrong block points at `listen:`; list items point at the item.
 */
function locator(doc: Document, lineOf: Position): Locate {
  return (path) => {
    let node: unknown = doc.contents;
    let line = startLine(node, lineOf);
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
        if (pair === undefined) break;
        line = startLine(pair.key, lineOf) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
        line = startLine(node, lineOf) ?? line;
      } else {
        break;
      }
    }
    return line;
  };
}

export function readYaml(text: string): YamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const lineOf: Position = (offset) => lineCounter.linePos(offset).line;
  const issues = [...doc.errors, ...doc.warnings].map((error) => yamlIssue(error, lineOf));
  if (issues.length === 0) keyIssues(doc.contents, [], lineOf, issues);
  if (issues.length > 0) return { ok: false, issues };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }), locate: locator(doc, lineOf) };
  } catch (error) {
    // An alias to a missing anchor or an alias bomb only surfaces when the tree is resolved.
    const message = error instanceof Error ? fixedPart(error.message) : 'cannot resolve the document';
    return { ok: false, issues: [{ key: '', line: undefined, message: `YAML: ${message}` }] };
  }
}
