// Notices when files are replaced or rewritten, by polling their metadata: it works for files edited in place,
// replaced by rename (certbot, cert-manager, `cert generate`), behind symlinks and on network file systems,
// where inotify-based watching misses some of these. The check is a few stat() calls per interval.

import { stat } from 'node:fs/promises';

export interface FileWatch {
  close(): void;
}

async function signature(paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map(async (path) => {
      try {
        const info = await stat(path);
        return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
      } catch (err) {
        return `absent:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
      }
    }),
  );
  return parts.join('|');
}

/** Calls `onChange` after any of `paths` changed since the previous check (not for the state at the start). */
export function watchFiles(paths: readonly string[], intervalMs: number, onChange: () => void): FileWatch {
  let last: string | undefined;
  let checking = false;
  const check = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      const now = await signature(paths);
      if (last !== undefined && now !== last) onChange();
      last = now;
    } finally {
      checking = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
