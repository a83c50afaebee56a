// Lists and values inside the configuration's YAML document, for the editing commands: found, changed or
// created in place so that the comments and items around them stay where the operator put them.
import { isMap, isScalar, isSeq, YAMLMap, YAMLSeq, type Document } from 'yaml';

/**
 * The sequence at `path`. With `create`, a missing or empty key (`allowedHosts:`) gets a new block list, and
 * an empty flow list (`allowedHosts: []`) turns into a block list so new items go one per line.
 */
export function listAt(doc: Document, path: readonly string[], create: boolean): YAMLSeq | undefined {
  const node = doc.getIn(path, true);
  if (isSeq(node)) {
    if (create && node.flow === true && node.items.length === 0) node.flow = false;
    return node;
  }
  if (!create) return undefined;
  for (let depth = 1; depth < path.length; depth++) {
    const parent = path.slice(0, depth);
    if (!isMap(doc.getIn(parent, true))) doc.setIn(parent, new YAMLMap());
  }
  const seq = new YAMLSeq();
  doc.setIn(path, seq);
  return seq;
}

/** Sets the value at `path`; a scalar keeps its comment (`connectSeconds: 10 # why`) by having its value changed. */
export function setValue(doc: Document, path: readonly string[], value: unknown): void {
  const node = doc.getIn(path, true);
  if (isScalar(node) && (value === null || typeof value !== 'object')) node.value = value;
  else doc.setIn(path, doc.createNode(value));
}

/** The text of a list item that is a plain string; undefined for anything else. */
export function itemText(item: unknown): string | undefined {
  return isScalar(item) && typeof item.value === 'string' ? item.value : undefined;
}
