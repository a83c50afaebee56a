// Worker processes write their JSON log lines to a pipe the supervisor reads; the supervisor passes whole
// lines on through its own log destination. Several processes writing to one inherited stdout could tear
// lines apart whenever the reader falls behind (a partial write to a full pipe or socket is finished later,
// after another process's write), and an audit trail with broken lines is not one. With one writer, the
// destination's settings (file and logrotate reopening, pretty format) also apply to every worker's lines.

import type { Readable } from 'node:stream';

/** A line longer than this is passed on in pieces rather than held without bound. */
const MAX_PARTIAL = 1024 * 1024;

/** Calls `write` with runs of complete lines from `source`; a last line without its newline gets one at the end. */
export function relayLines(source: Readable, write: (lines: string) => void): void {
  let partial = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    const end = chunk.lastIndexOf('\n');
    if (end === -1) {
      partial += chunk;
      if (partial.length > MAX_PARTIAL) {
        write(partial);
        partial = '';
      }
      return;
    }
    write(partial + chunk.slice(0, end + 1));
    partial = chunk.slice(end + 1);
  });
  source.once('end', () => {
    if (partial !== '') write(`${partial}\n`);
    partial = '';
  });
}
