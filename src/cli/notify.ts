// Telling a running gateway to reload after an edit: SIGHUP to the process named by the pid file
// (`--pid-file`, else the configuration's `pidFile`). Every outcome is said, including "nobody to tell".
import { isGatewayProcess, readPidFile } from '../service/pid-file.js';
import { CommandFailed } from './errors.js';

export type Notice =
  | { readonly status: 'signalled'; readonly pid: number; readonly pidFile: string }
  | { readonly status: 'not-running'; readonly pidFile: string }
  | { readonly status: 'no-pid-file'; readonly watch: boolean };

/** Signals the gateway of `pidFile` with SIGHUP. Throws CommandFailed when it runs but cannot be signalled. */
export async function notifyGateway(pidFile: string | undefined, watch: boolean): Promise<Notice> {
  if (pidFile === undefined) return { status: 'no-pid-file', watch };
  const pid = await readPidFile(pidFile);
  if (pid === undefined || !isGatewayProcess(pid)) return { status: 'not-running', pidFile };
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CommandFailed(`the configuration was written, but the gateway (pid ${pid}) could not be told to reload (${code}): run this as its user or root, or send it SIGHUP`);
  }
  return { status: 'signalled', pid, pidFile };
}

export function describeNotice(notice: Notice): string {
  switch (notice.status) {
    case 'signalled':
      return `told the running gateway (pid ${notice.pid}) to reload; it logs config-reloaded, or config-invalid and keeps running as before`;
    case 'not-running':
      return `no gateway is running with pid file ${notice.pidFile}: the change applies when it starts`;
    case 'no-pid-file':
      return notice.watch
        ? 'no pid file is configured; a running gateway watches the file (watch: true) and reloads by itself'
        : 'no pid file is configured (pidFile, or --pid-file), so no running gateway was told: reload it with `systemctl reload oms-gateway` or SIGHUP';
  }
}
