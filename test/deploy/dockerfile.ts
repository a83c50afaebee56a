// A Dockerfile reader for the container test, following the Dockerfile reference's lexical rules: one
// instruction per logical line, `\` at the end of a line continues it, lines starting with `#` are comments
// (also inside a continued instruction), keywords are case-insensitive, and `[...]` JSON arrays are the exec
// form. Variables are expanded only in FROM, from the global ARG defaults — all the test needs. No container
// engine runs where the tests run, so this is how the file is checked.

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** Text after the keyword, continuation lines joined. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  /** The base image, with global ARG defaults substituted. */
  readonly from: string;
  /** The `AS name`, if any. */
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** Global ARGs (before the first FROM) and their defaults. */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
  readonly stages: readonly Stage[];
}

export class DockerfileError extends Error {
  readonly code = 'DOCKERFILE_SYNTAX';
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line}: ${message}`);
  }
}

const KEYWORDS = new Set([
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
]);

/** Joins continued lines and drops comments and blank lines. */
export function logicalLines(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    const escape = /^#\s*escape\s*=\s*(\S)/i.exec(trimmed);
    if (escape !== null && escape[1] !== '\\') throw new DockerfileError(line, 'only the default escape character \\ is supported');
    // Blank lines inside a continued instruction are skipped, as Docker does.
    if (trimmed.startsWith('#') || trimmed === '') return;
    const continues = /\\\s*$/.test(raw);
    const body = continues ? raw.replace(/\\\s*$/, '') : raw;
    pending = pending === undefined ? { text: body.trimStart(), line } : { text: pending.text + body, line: pending.line };
    if (continues) return;
    out.push(split(pending.text, pending.line));
    pending = undefined;
  });
  if (pending !== undefined) throw new DockerfileError(pending.line, 'the last instruction ends with a line continuation');
  return out;
}

function split(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text.trim());
  const keyword = match?.[1]?.toUpperCase() ?? '';
  if (!KEYWORDS.has(keyword)) throw new DockerfileError(line, `unknown instruction "${match?.[1] ?? text}"`);
  return { keyword, args: (match?.[2] ?? '').trim(), line };
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: { from: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of logicalLines(text)) {
    const current = stages.at(-1);
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = words[0];
      if (image === undefined) throw new DockerfileError(instruction.line, 'FROM without an image');
      const as = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ from: expand(image, globalArgs, instruction.line), name: as, instructions: [] });
    } else if (current === undefined) {
      if (instruction.keyword !== 'ARG') throw new DockerfileError(instruction.line, `${instruction.keyword} before the first FROM`);
      const [name = '', value] = instruction.args.split('=', 2);
      globalArgs.set(name.trim(), value?.trim());
    } else {
      current.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new DockerfileError(1, 'no FROM instruction');
  return { globalArgs, stages };
}

function expand(word: string, args: ReadonlyMap<string, string | undefined>, line: number): string {
  return word.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_all, name: string) => {
    const value = args.get(name);
    if (value === undefined) throw new DockerfileError(line, `ARG ${name} has no default`);
    return value;
  });
}

/** The exec (JSON array) form's arguments, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return undefined;
  }
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;
}

/** The last instruction of `keyword` in a stage (later ones override earlier ones). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1);
}

export function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** `ENV A=1 B=2` pairs of every ENV in the stage (unquoted values; the legacy `ENV A 1` form too). */
export function environment(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args } of all(stage, 'ENV')) {
    const words = args.split(/\s+/).filter((word) => word !== '');
    if (words.length === 2 && !words[0]?.includes('=')) {
      env.set(words[0] ?? '', words[1] ?? '');
      continue;
    }
    for (const word of words) {
      const at = word.indexOf('=');
      if (at > 0) env.set(word.slice(0, at), word.slice(at + 1));
    }
  }
  return env;
}

export interface Copy {
  /** The stage copied from (`--from=`), or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

export function copies(stage: Stage): Copy[] {
  return all(stage, 'COPY').map(({ args, line }) => {
    const words = execForm(args) ?? args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((word) => !word.startsWith('--'));
    const destination = paths.at(-1);
    if (destination === undefined || paths.length < 2) throw new DockerfileError(line, 'COPY needs a source and a destination');
    return { from, sources: paths.slice(0, -1), destination };
  });
}

export interface HealthCheck {
  readonly options: ReadonlyMap<string, string>;
  /** The command in exec form; undefined for the shell form or NONE. */
  readonly exec: string[] | undefined;
}

export function healthCheck(stage: Stage): HealthCheck | undefined {
  const instruction = last(stage, 'HEALTHCHECK');
  if (instruction === undefined) return undefined;
  const options = new Map<string, string>();
  let rest = instruction.args;
  for (let match = /^--([a-z-]+)=(\S+)\s+/.exec(rest); match !== null; match = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options.set(match[1] ?? '', match[2] ?? '');
    rest = rest.slice(match[0].length);
  }
  const command = /^CMD\s+(.*)$/is.exec(rest);
  return { options, exec: command?.[1] === undefined ? undefined : execForm(command[1].trim()) };
}
