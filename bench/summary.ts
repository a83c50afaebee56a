// What the runs add up to: each figure's median over the runs with its spread (min–max), and every target of
// issue 14 evaluated on those medians as a ratio, met or not. Pure: no sockets, no processes.

/** Every path a figure may be measured on, in the order the runs take them (and the tables show them). */
export const PATHS = ['direct', 'pipe', 'squid', 'gateway', 'gatewayTls'] as const;
export type PathName = (typeof PATHS)[number];

export const PATH_TITLES: Readonly<Record<PathName, string>> = {
  direct: 'direct',
  pipe: 'pipe relay',
  squid: 'Squid',
  gateway: 'gateway',
  gatewayTls: 'gateway https://',
};

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Median (the mean of the middle two for an even count) and range of the finite values; undefined for none. */
export function spread(values: readonly (number | null)[]): Spread | undefined {
  const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  const count = sorted.length;
  if (count === 0) return undefined;
  const middle = Math.floor(count / 2);
  const at = (index: number): number => sorted[index] ?? Number.NaN;
  const median = count % 2 === 1 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
  return { median, min: at(0), max: at(count - 1), runs: count };
}

/**
 * Per figure, per path, one value per run: the value at index `run - 1`, null for a run that has none (the
 * measurement failed), so two paths' values of one run can be paired.
 */
export type Samples = Record<string, Partial<Record<PathName, (number | null)[]>>>;

/** The value of `run` (counted from 1). */
export function addSample(samples: Samples, figure: string, path: PathName, value: number, run: number): void {
  const values = ((samples[figure] ??= {})[path] ??= []);
  while (values.length < run - 1) values.push(null);
  values[run - 1] = value;
}

export interface FigureDef {
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  /** Paths that cannot have this figure (the direct path has no proxy to weigh): shown as n/a. */
  readonly notApplicable?: readonly PathName[];
  /** A count (agents): printed without decimals. */
  readonly whole?: boolean;
}

export interface Figure extends FigureDef {
  readonly values: Partial<Record<PathName, Spread>>;
}

export function summarise(defs: readonly FigureDef[], samples: Samples): Figure[] {
  return defs.map((def) => {
    const values: Partial<Record<PathName, Spread>> = {};
    for (const path of PATHS) {
      const summary = spread(samples[def.id]?.[path] ?? []);
      if (summary !== undefined) values[path] = summary;
    }
    return { ...def, values };
  });
}

export interface TargetSpec {
  readonly text: string;
  readonly figure: string;
  /** The gateway's statistic compared: the median, or the least of the runs for "every run". */
  readonly stat: 'median' | 'min';
  /** The reference: another path's median, or a fixed limit in the figure's unit. */
  readonly against: PathName | { readonly limit: number };
  readonly compare: 'atLeast' | 'atMost';
  readonly factor: number;
  /** An aim beside a target: printed, not counted. */
  readonly aim?: boolean;
}

/** The targets of issue 14, for the idle-tunnel counts and the agent count the run measured. */
export function issueTargets(idleCounts: readonly number[], agentCount: number): TargetSpec[] {
  const count = (n: number): string => n.toLocaleString('en-US');
  return [
    { text: 'bulk download ≥ 0.95× direct', figure: 'bulk', stat: 'median', against: 'direct', compare: 'atLeast', factor: 0.95 },
    { text: "proxy CPU per GB ≤ Squid's", figure: 'cpuPerGB', stat: 'median', against: 'squid', compare: 'atMost', factor: 1 },
    { text: 'requests/s over open tunnels ≥ 1.0× Squid', figure: 'requests', stat: 'median', against: 'squid', compare: 'atLeast', factor: 1 },
    { text: 'requests/s over open tunnels ≥ 0.95× direct', figure: 'requests', stat: 'median', against: 'direct', compare: 'atLeast', factor: 0.95, aim: true },
    { text: 'tunnel set-ups/s ≥ 0.95× direct', figure: 'setup', stat: 'median', against: 'direct', compare: 'atLeast', factor: 0.95 },
    ...idleCounts.map((n): TargetSpec => ({ text: `≤ 16 KB per idle tunnel at ${count(n)}`, figure: idleFigure(n), stat: 'median', against: { limit: 16 }, compare: 'atMost', factor: 1 })),
    { text: `≥ ${count(agentCount)} agents carried, every run`, figure: 'agentsCarried', stat: 'min', against: { limit: agentCount }, compare: 'atLeast', factor: 1 },
    { text: `p99 upload at ${count(agentCount)} agents ≤ 1.1× Squid's`, figure: 'agentsP99', stat: 'median', against: 'squid', compare: 'atMost', factor: 1.1 },
  ];
}

export function idleFigure(count: number): string {
  return `idle@${count}`;
}

export interface TargetResult {
  readonly text: string;
  readonly aim: boolean;
  /** The gateway's figure over the reference; undefined when either was not measured. */
  readonly ratio: number | undefined;
  readonly met: boolean | undefined;
  /**
   * The same ratio within each run (the gateway's value of a run over the reference's of the same run);
   * undefined for a run missing either. Shown beside the verdict, which stays on the medians: the medians
   * of two paths may come from different runs, and the machine's rates swing more between runs than the
   * paths differ within one.
   */
  readonly byRun?: readonly (number | undefined)[];
}

function ratioOf(value: number | null | undefined, reference: number | null | undefined): number | undefined {
  return value === undefined || value === null || reference === undefined || reference === null || reference === 0 ? undefined : value / reference;
}

/**
 * Each target for `subject` (the plain listener's gateway unless told), judged on the figures; with the
 * samples, each ratio run by run too.
 */
export function evaluateTargets(specs: readonly TargetSpec[], figures: readonly Figure[], subject: PathName = 'gateway', samples?: Samples): TargetResult[] {
  return specs.map((spec) => {
    const figure = figures.find((f) => f.id === spec.figure);
    const value = figure?.values[subject]?.[spec.stat];
    const reference = typeof spec.against === 'string' ? figure?.values[spec.against]?.median : spec.against.limit;
    const ratio = ratioOf(value, reference);
    const met = ratio === undefined ? undefined : spec.compare === 'atLeast' ? ratio >= spec.factor : ratio <= spec.factor;
    const result = { text: spec.text, aim: spec.aim === true, ratio, met };
    if (samples === undefined) return result;
    const values = samples[spec.figure]?.[subject] ?? [];
    const { against } = spec;
    const references = typeof against === 'string' ? (samples[spec.figure]?.[against] ?? []) : values.map(() => against.limit);
    const runs = Math.max(values.length, references.length);
    return { ...result, byRun: Array.from({ length: runs }, (_, run) => ratioOf(values[run], references[run])) };
  });
}
