// What the supervisor and its workers say to each other over the cluster IPC channel (advanced
// serialization, so a GatewayConfig, which is plain data, arrives whole with its undefined fields).

import type { GatewayConfig } from '../config/types.js';
import type { Registry } from 'prom-client';
import type { ReloadReport, StopReport } from '../proxy/gateway.js';

export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export interface ListenerAddress {
  readonly address: string;
  readonly port: number;
}

/** Supervisor → worker. `config` is already the worker's share (cluster/share.ts). */
export type ToWorker =
  | { readonly type: 'start'; readonly config: GatewayConfig }
  | { readonly type: 'reload'; readonly id: number; readonly config: GatewayConfig }
  | { readonly type: 'stop'; readonly graceMs: number; readonly drainDelayMs: number }
  | { readonly type: 'metrics'; readonly id: number };

/** Worker → supervisor. */
export type FromWorker =
  /** Sent once the worker listens for messages; anything sent earlier could be lost. */
  | { readonly type: 'hello' }
  | { readonly type: 'started'; readonly listeners: readonly ListenerAddress[] }
  | { readonly type: 'start-failed'; readonly code: string | undefined; readonly message: string }
  | { readonly type: 'reloaded'; readonly id: number; readonly report: ReloadReport }
  | { readonly type: 'reload-failed'; readonly id: number; readonly code: string | undefined; readonly message: string }
  | { readonly type: 'stopping'; readonly activeTunnels: number }
  | { readonly type: 'stopped'; readonly report: StopReport }
  /** `clients`: addresses with an open connection to this worker, so the supervisor counts each client once. */
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: MetricsJson; readonly clients: readonly string[] };

const TO_WORKER = new Set<string>(['start', 'reload', 'stop', 'metrics']);
const FROM_WORKER = new Set<string>(['hello', 'started', 'start-failed', 'reloaded', 'reload-failed', 'stopping', 'stopped', 'metrics']);

function typeOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/** Messages come only from this program's own processes; the type tag is what tells them from Node's own. */
export function isToWorker(message: unknown): message is ToWorker {
  return TO_WORKER.has(typeOf(message) ?? '');
}

export function isFromWorker(message: unknown): message is FromWorker {
  return FROM_WORKER.has(typeOf(message) ?? '');
}
