// Reading the documentation as data: pages under docs/, their sections and the rows of their tables.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/docs/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function readDoc(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

/** Cells of every table row of `text` (header and separator rows left out), trimmed. */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) => splitRow(line))
    .filter((cells) => !isHeader(cells));
}

function splitRow(line: string): string[] {
  // `\|` inside a cell is a literal bar (as in `--auth anonymous\|basic`), not a column break.
  return line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim());
}

const HEADERS = new Set(['status', 'eventId', 'metric', 'key', 'flag', 'command']);

function isHeader(cells: readonly string[]): boolean {
  return HEADERS.has(cells[0] ?? '');
}

/** The first `code` span of a cell, e.g. `oms_gateway_x` of "`oms_gateway_x`", or undefined. */
export function codeOf(cell: string): string | undefined {
  return /^`([^`]+)`/.exec(cell)?.[1];
}

/** Every `code` span of a cell. */
export function codesIn(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
}

/** The text from the heading line `heading` up to the next heading of the same or a higher level. */
export function section(text: string, heading: string): string {
  const start = text.split('\n').findIndex((line) => line === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(heading)?.[0].length ?? 1;
  const lines = text.split('\n').slice(start + 1);
  let fenced = false;
  const end = lines.findIndex((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && new RegExp(`^#{1,${level}} `).test(line);
  });
  return lines.slice(0, end < 0 ? undefined : end).join('\n');
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}
