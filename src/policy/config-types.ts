// The policy's part of the validated configuration, and the closed sets of names it is written in. The policy
// owns these words: config/ builds values of these types (config/types.ts composes them), the policy compiles
// them (decide.ts), and everyone else who needs a cloud or agent name takes it from here.

export const CLOUDS = ['public', 'usgov', 'china'] as const;
export type Cloud = (typeof CLOUDS)[number];

/** Agent families with an endpoint preset (their endpoints in presets.ts, entries in config/presets/). */
export const AGENTS = ['legacy', 'ama', 'arc', 'hybrid-worker', 'arc-gateway', 'kubernetes', 'azure-local'] as const;
export type Agent = (typeof AGENTS)[number];

/** enforce: refuse what the policy denies; report: relay allowlist denials and record them as would-deny. */
export type PolicyMode = 'enforce' | 'report';

/** An allowlist entry as written by an operator or a built-in preset, already syntax-checked. */
export interface AllowEntryConfig {
  /** Lower-case pattern: 'exact.name', '*.suffix.name' or an IP literal (IPv6 without brackets). */
  readonly pattern: string;
  readonly ports: readonly number[];
  /** Where the entry came from, for `config check` and deny hints: 'preset:ama:public', 'arcGateways', 'operator', 'flag'. */
  readonly source: string;
}

/** One entry of the installed preset data, with the Microsoft page it follows and when it was compared with it. */
export interface PresetDataEntry {
  /** Normalised host pattern (policy/patterns.ts). */
  readonly pattern: string;
  readonly ports: readonly number[];
  /** URL of the Microsoft page that lists the endpoint. */
  readonly source: string;
  /** Date (YYYY-MM-DD) the entry was last compared with that page. */
  readonly checked: string;
  /** What the page writes when the pattern stands for it (`<region>.his.arc.azure.com`), or a caveat. */
  readonly note?: string | undefined;
}

/** `config/presets/<preset>.<cloud>.json`: one preset in one cloud. A missing file: not documented there. */
export interface PresetDataFile {
  readonly preset: Agent;
  readonly cloud: Cloud;
  readonly entries: readonly PresetDataEntry[];
}

/** The preset data the configuration was built with (config/preset-data.ts), every preset of every cloud. */
export interface PresetData {
  /** `config/presets/version.json`: changes whenever any entry does. */
  readonly version: string;
  readonly files: readonly PresetDataFile[];
}

export interface PolicyConfig {
  readonly mode: PolicyMode;
  readonly clouds: readonly Cloud[];
  /** Agent presets whose endpoints are in the allowlist (for every selected cloud). */
  readonly agents: readonly Agent[];
  /** Whether the preset endpoints are in the allowlist at all (`defaultHosts`). */
  readonly includeDefaults: boolean;
  /** Preset patterns the operator removed. */
  readonly disabledDefaults: readonly string[];
  /** The tenant's own Arc gateway addresses (`<prefix>.gw.arc.azure.com`), allowed with the arc-gateway preset. */
  readonly arcGateways: readonly string[];
  /** The preset data in effect: enabled or not, for deny hints and `presets diff`; `config check` shows its version. */
  readonly presets: PresetData;
  /** Final allowlist: enabled presets (minus disabled) plus operator entries, computed once by the loader. */
  readonly allowlist: readonly AllowEntryConfig[];
  /** Workspace IDs (lower-case); empty means any workspace. */
  readonly workspaces: readonly string[];
  /** Azure region names (lower-case); empty means any region. */
  readonly regions: readonly string[];
  /** CIDRs refused after resolution unless a host mapping points there. */
  readonly deniedAddresses: readonly string[];
}
