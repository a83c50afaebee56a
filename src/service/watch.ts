// `watch: true`: reload when the configuration file's content changes. The directory is watched, not the
// file, because editors, `oms-gateway` itself and Kubernetes ConfigMaps replace the file by renaming a new
// one over it, which a watch on the old file would never report. Events are debounced, and a change only
// counts when the bytes differ from the last ones seen, so a touch or a rename dance reloads nothing.

import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

export interface WatchOptions {
  readonly debounceMs: number;
  /** The file's content changed and then stayed the same for `debounceMs`. */
  readonly onChange: () => void;
  readonly onError: (err: Error) => void;
}

async function digest(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    // Mid-rename or removed: the next event, or the reload that follows, will say what is there.
    return undefined;
  }
}

export async function watchFile(path: string, options: WatchOptions): Promise<FileWatch> {
  let seen = await digest(path);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const settle = async (): Promise<void> => {
    const now = await digest(path);
    if (closed || now === undefined || now === seen) return;
    seen = now;
    options.onChange();
  };
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => void settle(), options.debounceMs);
  });
  watcher.on('error', options.onError);
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
