// The environment the supervisor adds for its workers.

/**
 * glibc hands freed heap back to the system once 128 KiB lie free at its top, and Node frees the 64 KiB
 * buffer of every socket read in batches, at each garbage collection: the heap shrinks and grows again and
 * the kernel faults in and zeroes every new page. Keeping 64 MiB before trimming and growing 16 MiB at a
 * time cut the gateway's system CPU per GB relayed by about two thirds in the benchmark (bench/,
 * docs/performance.md).
 */
const MALLOC_SETTINGS: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(16 * 1024 * 1024),
  // glibc gives each thread that allocates (V8's compiler and collector helpers, libuv's pool) an arena of
  // its own, up to eight per core, each keeping what it once held. Nearly every allocation is the event
  // loop's: with two arenas a worker held 1,000 idle tunnels in 15.2–16.6 KB each, against 16.6–17.3 with
  // glibc's default, for the same set-up, request and bulk figures (docs/performance.md).
  MALLOC_ARENA_MAX: '2',
};

/** The settings above that `env` does not already make: the operator's own win. */
export function workerEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(MALLOC_SETTINGS).filter(([name]) => env[name] === undefined));
}
