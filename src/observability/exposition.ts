// Reads the Prometheus text exposition format (version 0.0.4) back into samples, for `oms-gateway status`.
// Comments, HELP and TYPE lines are skipped; label values are unescaped (\\, \", \n).

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class ExpositionError extends Error {
  readonly code = 'EXPOSITION';

  constructor(line: number, why: string) {
    super(`line ${line} of the metrics text: ${why}`);
    this.name = 'ExpositionError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    samples.push(parseSample(line, index + 1));
  });
  return samples;
}

function parseSample(line: string, lineNumber: number): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new ExpositionError(lineNumber, 'expected a metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) break;
      const labelName = LABEL_NAME.exec(rest)?.[0];
      if (labelName === undefined || rest[labelName.length] !== '=' || rest[labelName.length + 1] !== '"') {
        throw new ExpositionError(lineNumber, 'expected label="value"');
      }
      const [value, after] = readQuoted(rest.slice(labelName.length + 2), lineNumber);
      labels[labelName] = value;
      rest = after.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new ExpositionError(lineNumber, 'expected , or } after a label');
    }
    rest = rest.slice(1);
  }
  const [valueText] = rest.trim().split(/\s+/);
  const value = parseValue(valueText ?? '');
  if (value === undefined) throw new ExpositionError(lineNumber, 'expected a sample value');
  return { name, labels, value };
}

/** The value of a quoted label up to its closing quote, and the text after that quote. */
function readQuoted(text: string, lineNumber: number): [string, string] {
  let value = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') return [value, text.slice(i + 1)];
    if (c === '\\') {
      const next = text[i + 1];
      value += next === 'n' ? '\n' : (next ?? '');
      i += 1;
    } else {
      value += c;
    }
  }
  throw new ExpositionError(lineNumber, 'unterminated label value');
}

/** Special values in any case, as Prometheus (Go's ParseFloat) reads them: prom-client writes `Nan`. */
function parseValue(text: string): number | undefined {
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Infinity;
  if (special === '-inf') return -Infinity;
  if (special === 'nan') return NaN;
  if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function matching(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the samples named `name` whose labels include every given label. */
export function total(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return matching(samples, name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** Sums of the samples named `name` (restricted to `labels`) per value of label `by`, largest first. */
export function totalsBy(
  samples: readonly Sample[],
  name: string,
  by: string,
  labels: Readonly<Record<string, string>> = {},
): [string, number][] {
  const sums = new Map<string, number>();
  for (const s of matching(samples, name, labels)) {
    const key = s.labels[by] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
