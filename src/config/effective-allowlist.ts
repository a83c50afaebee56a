// The effective allowlist as operators read it (`config check`, `allowed-host list --effective`): every entry
// in force, with where it came from. Entries with the same pattern and ports (the legacy and ama presets
// both carry `*.ods.opinsights.azure.com`) are one row naming every source.

import type { GatewayConfig } from './types.js';

export interface AllowlistRow {
  readonly pattern: string;
  readonly ports: readonly number[];
  /** `preset:<agent>:<cloud>`, `operator` (allowedHosts) or `flag` (--allow-host); several joined by ", ". */
  readonly source: string;
}

/** Rows in allowlist order: presets first (cloud by cloud, agent by agent), then the file's entries, then flags. */
export function describeAllowlist(config: GatewayConfig): AllowlistRow[] {
  const rows = new Map<string, { pattern: string; ports: readonly number[]; sources: string[] }>();
  for (const { pattern, ports, source } of config.policy.allowlist) {
    const key = `${pattern} ${ports.join(',')}`;
    const row = rows.get(key);
    if (row === undefined) rows.set(key, { pattern, ports: [...ports], sources: [source] });
    else if (!row.sources.includes(source)) row.sources.push(source);
  }
  return [...rows.values()].map(({ pattern, ports, sources }) => ({ pattern, ports, source: sources.join(', ') }));
}

/** The rows as `# `-prefixed table lines, so they can follow a YAML document without breaking it. */
export function allowlistComment(rows: readonly AllowlistRow[]): string {
  const table = [['PATTERN', 'PORTS', 'SOURCE'], ...rows.map((row) => [row.pattern, row.ports.join(','), row.source])];
  const widths = [0, 1].map((column) => Math.max(...table.map((cells) => (cells[column] ?? '').length)));
  const lines = table.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
  return [`# effective allowlist (${rows.length} entries):`, ...lines.map((line) => `#   ${line}`)].join('\n');
}
