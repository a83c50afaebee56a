// Terminal and stream input and output for the CLI: passwords are read from standard input (scripts) or from
// a prompt that does not echo (people), never from the command line where `ps` would show them; output
// written to a pipe whose reader went away (`| head -1`) is dropped, not turned into a crash.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { UsageError } from './errors.js';

/** Below this many characters `user add` warns (NIST SP 800-63B asks at least 8; we suggest more for a shared secret). */
export const SHORT_PASSWORD = 12;

/**
 * A reader that closes the pipe early (`oms-gateway allowed-host add x | head -1`) must not turn a command
 * that did its work into a stack trace and exit status 1: the work is done and the exit status says so.
 * Writes after that are dropped.
 */
export function survivePipeClose(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
      throw err;
    });
  }
}

async function readStdinBytes(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function readStdin(): Promise<string> {
  return (await readStdinBytes()).toString('utf8');
}

/** A password from standard input: the whole input, less one trailing newline (`echo` adds one); UTF-8 only. */
export async function readPasswordFromStdin(): Promise<string> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await readStdinBytes());
  } catch {
    throw new UsageError('the password on standard input is not valid UTF-8 (agents send it as UTF-8)');
  }
  return text.replace(/\r?\n$/, '');
}

/** Prompts on the terminal without echoing what is typed. */
export function promptHidden(question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

const CONTROL_NAMES: Readonly<Record<number, string>> = { 0x09: 'a tab', 0x0a: 'a newline', 0x0d: 'a carriage return' };

/** Names the first control character (tab, a newline inside, ...) of a password and where it is, never the password. */
function controlCharacter(password: string): string | undefined {
  let position = 0;
  for (const character of password) {
    position += 1;
    const code = character.codePointAt(0) ?? 0;
    if (/\p{Cc}/u.test(character)) return `${CONTROL_NAMES[code] ?? `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`} at character ${position}`;
  }
  return undefined;
}

/**
 * A new password, from standard input or typed twice. Refused when it holds a control character: a newline
 * inside or a tab is a pasting or quoting mistake no agent's settings dialog can reproduce.
 */
export async function readNewPassword(): Promise<string> {
  let password: string;
  if (!process.stdin.isTTY) {
    password = await readPasswordFromStdin();
  } else {
    const first = await promptHidden('Password: ');
    const second = await promptHidden('Repeat password: ');
    if (first !== second) throw new Error('the passwords do not match');
    password = first;
  }
  const control = controlCharacter(password);
  if (control !== undefined) {
    throw new UsageError(`the password contains ${control}; only one trailing newline is removed (use printf %s 'PASSWORD' | ...)`);
  }
  return password;
}

export function printTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}
