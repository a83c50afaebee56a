// pino logger for the audit trail and service messages. JSON lines on standard output by default
// (journald, containers); the destination is asynchronous so logging never blocks the data path.
import { pino, type Logger, type Level } from 'pino';
import type { LogLevel } from '../config/types.js';
import { EVENTS, type EventName } from './events.js';

export type { Logger } from 'pino';

/** Paths removed from every record, as a second line of defence: credentials never enter log objects. */
const REDACT_PATHS = [
  'headers["proxy-authorization"]',
  'headers.authorization',
  '*.password',
  '*.passwordHash',
  'password',
  'passwordHash',
];

export function createLogger(level: LogLevel, destination: number | string = 1): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: destination, sync: false, minLength: 0 }),
  );
}

/** Writes one audit record: a stable event name, its numeric ID and the record's fields. */
export function audit(
  logger: Logger,
  level: Level,
  event: EventName,
  fields: Readonly<Record<string, unknown>>,
  message?: string,
): void {
  if (!logger.isLevelEnabled(level)) return;
  logger[level]({ event, eventId: EVENTS[event], ...fields }, message ?? event);
}
