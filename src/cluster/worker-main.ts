// Entry point of a worker process (the supervisor forks this file, not the command line): the gateway
// alone, without loading the commands a worker never runs.
import { runWorker } from './worker.js';

runWorker().catch((err: unknown) => {
  process.stderr.write(`oms-gateway worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
