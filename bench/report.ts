// The benchmark's results as tables: one row per figure with every path's median and spread (min–max) over
// the runs, then every target with the gateway's ratio and whether it was met; and the machine they were
// measured on.

import { PATHS, PATH_TITLES, type Figure, type PathName, type Spread, type TargetResult } from './summary.js';

export interface Machine {
  readonly os: string;
  readonly kernel: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly squid: string | undefined;
  readonly hey: string | undefined;
  readonly openFilesLimit: string;
  /** What node runs the gateway with: the launchers' options, then any --node-option. */
  readonly gatewayNodeOptions: readonly string[];
  /** Set in the gateway's environment by --gateway-env, beside the allocator settings a worker has. */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  /** The gateway's `workers` setting: 1 (one process) unless --workers said otherwise. */
  readonly gatewayWorkers: number;
  readonly pinning: string;
  /** 1-minute load average before and after the run: other work on the machine skews every figure. */
  readonly loadAverage: string;
}

export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** "median (min–max)", the median alone for one run; n/a where the path cannot have the figure. */
export function formatCell(figure: Figure, path: PathName): string {
  if (figure.notApplicable?.includes(path) === true) return 'n/a';
  const value: Spread | undefined = figure.values[path];
  if (value === undefined) return '–';
  const format = figure.whole === true ? (n: number): string => Math.round(n).toLocaleString('en-US') : formatNumber;
  const median = format(value.median);
  return value.runs < 2 ? median : `${median} (${format(value.min)}–${format(value.max)})`;
}

function figureRows(figures: readonly Figure[]): string[][] {
  return [
    ['figure', ...PATHS.map((path) => PATH_TITLES[path])],
    ...figures.map((figure) => [`${figure.label} (${figure.unit})`, ...PATHS.map((path) => formatCell(figure, path))]),
  ];
}

function judged(target: TargetResult | undefined): [string, string] {
  if (target === undefined) return ['', ''];
  return [target.ratio === undefined ? '–' : `${target.ratio.toFixed(2)}×`, target.met === undefined ? 'not measured' : target.met ? 'met' : 'NOT MET'];
}

/** The ratio in each run, when there was more than one: "0.97 0.78 0.91" ("–" for a run missing it). */
function byRun(target: TargetResult): string {
  const ratios = target.byRun ?? [];
  return ratios.length < 2 ? '' : ratios.map((ratio) => (ratio === undefined ? '–' : ratio.toFixed(2))).join(' ');
}

/**
 * The plain listener's targets, its ratio run by run, and the https:// listener's ratios beside them (no
 * targets of their own).
 */
function targetRows(plain: readonly TargetResult[], https: readonly TargetResult[]): string[][] {
  return [
    ['target', 'gateway', 'met', 'run by run', 'gateway https://', 'would be'],
    ...plain.map((t, i) => [`${t.text}${t.aim ? ' (aim)' : ''}`, ...judged(t), byRun(t), ...judged(https[i])]),
  ];
}

function markdown(rows: readonly string[][], align: readonly ('l' | 'r' | 'c')[]): string {
  const [header = [], ...body] = rows;
  const rule = align.map((a) => (a === 'r' ? '--:' : a === 'c' ? ':-:' : '---'));
  const line = (row: readonly string[]): string => `| ${row.join(' | ')} |`;
  return [line(header), `|${rule.join('|')}|`, ...body.map(line)].join('\n');
}

/** Fixed-width columns for a terminal: the first left-aligned, the rest right-aligned. */
function text(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ').trimEnd()).join('\n');
}

export function markdownFigures(figures: readonly Figure[]): string {
  return markdown(figureRows(figures), ['l', ...PATHS.map(() => 'r' as const)]);
}

export function textFigures(figures: readonly Figure[]): string {
  return text(figureRows(figures));
}

export function markdownTargets(plain: readonly TargetResult[], https: readonly TargetResult[] = []): string {
  return markdown(targetRows(plain, https), ['l', 'r', 'c', 'r', 'r', 'c']);
}

export function textTargets(plain: readonly TargetResult[], https: readonly TargetResult[] = []): string {
  return text(targetRows(plain, https));
}

export function machineLines(machine: Machine): string {
  return [
    `- OS: ${machine.os} (kernel ${machine.kernel})`,
    `- CPU: ${machine.cores} × ${machine.cpu}; memory ${machine.memoryGiB} GiB`,
    `- Node.js ${machine.node}; Squid ${machine.squid ?? 'not installed'}; hey ${machine.hey ?? 'not installed'}`,
    `- open files limit: ${machine.openFilesLimit}; gateway workers: ${machine.gatewayWorkers}, Squid workers: 1`,
    `- gateway's node options: ${machine.gatewayNodeOptions.join(' ') || 'none'}`,
    ...(Object.keys(machine.gatewayEnv).length === 0 ? [] : [`- gateway's environment (--gateway-env): ${Object.entries(machine.gatewayEnv).map(([name, value]) => `${name}=${value}`).join(' ')}`]),
    `- pinning: ${machine.pinning}`,
    `- load average (1 min) before / after the run: ${machine.loadAverage}`,
  ].join('\n');
}
