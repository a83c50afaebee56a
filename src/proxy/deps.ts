// What the request handlers need from the running gateway, passed in rather than imported, so the
// data path reads: listener → handler (connect.ts | forward.ts) → admit → upstream → relay.
import type { Logger } from '../observability/logger.js';
import type { Runtime } from './runtime.js';
import type { Tunnel } from './relay.js';

export interface HandlerDeps {
  /** The runtime in force now; each request takes it once and keeps it. */
  readonly runtime: () => Runtime;
  readonly logger: Logger;
  /** Open tunnels, for shutdown. */
  readonly tunnels: Set<Tunnel>;
  readonly isDraining: () => boolean;
}
