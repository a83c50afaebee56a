// The benchmark's results as a table: one row per figure, the three paths side by side, the ratios the
// targets are stated in (gateway/Squid, gateway/direct), the target and whether this run met it.

export type PathName = 'direct' | 'squid' | 'gateway';

export interface Figure {
  readonly label: string;
  readonly unit: string;
  readonly values: Partial<Record<PathName, number>>;
  /** What the targets compare: higher (rates) or lower (latency, memory, CPU) is better. */
  readonly better: 'higher' | 'lower';
  readonly target?: string;
  /** Whether the target was met; undefined when this run could not tell (a path missing). */
  readonly met?: boolean;
}

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
  readonly gatewayWorkers: string;
  readonly pinning: string;
  /** 1-minute load average before and after the run: other work on the machine skews every figure. */
  readonly loadAverage: string;
}

function format(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
}

export function markdownTable(figures: readonly Figure[]): string {
  const header = '| figure | direct | Squid | gateway | gateway/Squid | gateway/direct | target | met |';
  const rule = '|---|--:|--:|--:|--:|--:|---|:-:|';
  const rows = figures.map(({ label, unit, values, target, met }) => {
    const mark = met === undefined ? (target === undefined ? '' : '?') : met ? 'yes' : 'NO';
    return `| ${label} (${unit}) | ${format(values.direct)} | ${format(values.squid)} | ${format(values.gateway)} | ${ratio(values.gateway, values.squid)} | ${ratio(values.gateway, values.direct)} | ${target ?? ''} | ${mark} |`;
  });
  return [header, rule, ...rows].join('\n');
}

/** The same table for a terminal: fixed-width columns. */
export function textTable(figures: readonly Figure[]): string {
  const rows = [
    ['figure', 'direct', 'Squid', 'gateway', 'gw/Squid', 'gw/direct', 'target', 'met'],
    ...figures.map(({ label, unit, values, target, met }) => [
      `${label} (${unit})`,
      format(values.direct),
      format(values.squid),
      format(values.gateway),
      ratio(values.gateway, values.squid),
      ratio(values.gateway, values.direct),
      target ?? '',
      met === undefined ? (target === undefined ? '' : '?') : met ? 'yes' : 'NO',
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === 0 || column >= 6 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ')).join('\n');
}

export function machineLines(machine: Machine): string {
  return [
    `- OS: ${machine.os} (kernel ${machine.kernel})`,
    `- CPU: ${machine.cores} × ${machine.cpu}; memory ${machine.memoryGiB} GiB`,
    `- Node.js ${machine.node}; Squid ${machine.squid ?? 'not installed'}; hey ${machine.hey ?? 'not installed'}`,
    `- open files limit: ${machine.openFilesLimit}; gateway workers: ${machine.gatewayWorkers}`,
    `- pinning: ${machine.pinning}`,
    `- load average (1 min) before / after the run: ${machine.loadAverage}`,
  ].join('\n');
}
