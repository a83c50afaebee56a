// How many client connections the process's file-descriptor limit can carry. Each connection holds two
// descriptors once its tunnel is up (client and target); if the limit ran out first, accept() would fail
// with EMFILE and clients would see their connection dropped without an answer. Keeping the connection
// limit below this ceiling means the gateway still has descriptors to answer 503 with.
import { readdirSync, readFileSync } from 'node:fs';

/** Descriptors per admitted connection: the client's socket and the socket to the target. */
const PER_CONNECTION = 2;

/** Kept free for refusals being answered, listeners opened by a reload, DNS sockets and log files. */
function headroom(limit: number): number {
  return Math.max(16, Math.ceil(limit * 0.05));
}

/** The soft RLIMIT_NOFILE of this process (`ulimit -n`), or undefined where /proc does not say. */
export function openFileLimit(limitsText = readProc('/proc/self/limits')): number | undefined {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  return Number(soft);
}

/** Descriptors this process has open now, or undefined without /proc. */
export function openFileCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/**
 * The most connections that fit in the descriptors left over: (limit − in use − headroom) / 2, at least 1.
 * Undefined when the limit or the count is unknown (no ceiling is applied then).
 */
export function ceilingFor(limit: number | undefined, inUse: number | undefined): number | undefined {
  if (limit === undefined || inUse === undefined) return undefined;
  return Math.max(1, Math.floor((limit - inUse - headroom(limit)) / PER_CONNECTION));
}

/** ceilingFor() this process, now. */
export function connectionCeiling(): number | undefined {
  return ceilingFor(openFileLimit(), openFileCount());
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

/** Whether `err`, or an error it wraps, is this process (EMFILE) or the system (ENFILE) out of descriptors. */
export function isOutOfDescriptors(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (OUT_OF_DESCRIPTORS.has((e as NodeJS.ErrnoException).code ?? '')) return true;
  }
  return false;
}
