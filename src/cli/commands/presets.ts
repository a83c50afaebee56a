// `oms-gateway presets list|show|diff`: the installed preset data (config/presets/), one preset's entries
// with their Microsoft pages and check dates, and what the installed data and the configuration file would
// change in the running gateway's preset entries (its snapshot beside the pid file) before a reload applies it.
import { resolve } from 'node:path';
import { loadConfig, resolveConfigPath } from '../../config/load.js';
import {
  describePresetEntries, presetChanges, presetSnapshot, presetSnapshotPath, readPresetSnapshot, type PresetChanges,
} from '../../config/preset-changes.js';
import { loadPresetData, presetsDir } from '../../config/preset-data.js';
import { AGENTS, CLOUDS, type Agent, type Cloud, type PresetData } from '../../policy/config-types.js';
import { documentedClouds, presetFile } from '../../policy/presets.js';
import { parse } from '../args.js';
import { CommandFailed, UsageError } from '../errors.js';
import { printTable } from '../io.js';

const OPTIONS = {
  config: { type: 'string' },
  'pid-file': { type: 'string' },
  cloud: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function write(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

function latest(dates: readonly string[]): string {
  return [...dates].sort().at(-1) ?? '';
}

function list(data: PresetData, json: boolean): void {
  const presets = AGENTS.map((preset) => ({
    preset,
    clouds: documentedClouds(data, preset),
    entries: data.files.filter((file) => file.preset === preset).reduce((sum, file) => sum + file.entries.length, 0),
    checked: latest(data.files.filter((file) => file.preset === preset).flatMap((file) => file.entries.map((entry) => entry.checked))),
  }));
  const rows = [['PRESET', 'CLOUDS', 'ENTRIES', 'LAST CHECKED'], ...presets.map((p) => [p.preset, p.clouds.join(','), String(p.entries), p.checked])];
  write(json, { version: data.version, presets }, `preset data version ${data.version}\n${printTable(rows)}`);
}

function show(data: PresetData, name: string | undefined, cloudFlag: string | undefined, json: boolean): void {
  if (name === undefined || !(AGENTS as readonly string[]).includes(name)) {
    throw new UsageError(`presets show: expected one of: ${AGENTS.join(', ')}`);
  }
  const preset = name as Agent;
  if (cloudFlag !== undefined && !(CLOUDS as readonly string[]).includes(cloudFlag)) throw new UsageError(`presets show: --cloud: expected one of: ${CLOUDS.join(', ')}`);
  const documented = documentedClouds(data, preset);
  const clouds = cloudFlag === undefined ? documented : [cloudFlag as Cloud];
  const files = clouds.map((cloud) => {
    const file = presetFile(data, preset, cloud);
    if (file === undefined) throw new CommandFailed(`presets show: Microsoft documents ${preset} for cloud ${documented.join(', ') || '(none)'}, not ${cloud}`);
    return file;
  });
  const text = files.map((file) => {
    const rows = [['PATTERN', 'PORTS', 'CHECKED', 'SOURCE'], ...file.entries.map((e) => [e.note === undefined ? e.pattern : `${e.pattern} (${e.note})`, e.ports.join(','), e.checked, e.source])];
    return `${file.preset} in cloud ${file.cloud} (preset data ${data.version}):\n${printTable(rows)}`;
  });
  write(json, { version: data.version, preset, files }, text.join('\n\n'));
}

function describeChanges(changes: PresetChanges, snapshotPath: string): string {
  const version = changes.fromVersion === changes.toVersion
    ? `preset data version ${changes.toVersion} (running and installed)`
    : `preset data version ${changes.fromVersion} (running) → ${changes.toVersion} (installed)`;
  const lines = [`running gateway: ${snapshotPath}`, version];
  if (changes.added.length === 0 && changes.removed.length === 0) lines.push('no preset entry would be added or removed by a reload');
  for (const entry of describePresetEntries(changes.added)) lines.push(`+ ${entry}`);
  for (const entry of describePresetEntries(changes.removed)) lines.push(`- ${entry}`);
  return lines.join('\n');
}

async function diff(configFlag: string | undefined, pidFlag: string | undefined, json: boolean): Promise<void> {
  const config = loadConfig({ path: resolveConfigPath(configFlag, process.env) });
  const pidFile = pidFlag === undefined ? config.pidFile : resolve(pidFlag);
  if (pidFile === undefined) throw new UsageError('presets diff: the running gateway is found through its pid file: set pidFile or give --pid-file PATH');
  const path = presetSnapshotPath(pidFile);
  const running = await readPresetSnapshot(path).catch((err: Error) => {
    throw new CommandFailed(`presets diff: ${err.message}`);
  });
  if (running === undefined) throw new CommandFailed(`presets diff: no snapshot at ${path}: no gateway has run with pid file ${pidFile}`);
  const changes = presetChanges(running, presetSnapshot(config));
  write(json, { snapshot: path, ...changes }, describeChanges(changes, path));
}

export async function presets(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values, positionals } = parse(`presets ${action ?? ''}`.trim(), rest, OPTIONS);
  const json = values.json === true;
  switch (action) {
    case 'list':
      if (positionals.length > 0) throw new UsageError('presets list: takes no arguments');
      list(loadPresetData(presetsDir(process.env)), json);
      return 0;
    case 'show':
      if (positionals.length > 1) throw new UsageError('presets show: give one preset NAME');
      show(loadPresetData(presetsDir(process.env)), positionals[0], values.cloud, json);
      return 0;
    case 'diff':
      if (positionals.length > 0) throw new UsageError('presets diff: takes no arguments');
      await diff(values.config, values['pid-file'], json);
      return 0;
    default:
      throw new UsageError('presets: expected list, show or diff (see: oms-gateway presets --help)');
  }
}
