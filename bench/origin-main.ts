// The benchmark's TLS origin, in processes of its own (WORKERS of them sharing one port through node:cluster,
// or this one process for 1) so that neither the load generator nor the proxy under test waits on it. It serves the test fixture's
// routes (GET /hello, GET /bytes?n=N, POST /sha256) with the benchmark's ECDSA certificate, whose handshakes
// cost a fraction of an RSA one. Prints the port on the first line of its output.
//   node dist/bench/origin-main.js KEY_FILE CERT_FILE WORKERS

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { startTlsOrigin } from '../test/fixtures/origin.js';

const [keyFile = '', certFile = '', workersText = '1'] = process.argv.slice(2);

const workers = Math.max(1, Number(workersText));

if (workers === 1) {
  const origin = await startTlsOrigin({ keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8') });
  process.stdout.write(`${origin.port}\n`);
} else if (cluster.isPrimary) {
  let reported = false;
  for (let i = 0; i < workers; i += 1) {
    cluster.fork().on('message', (port: unknown) => {
      if (reported) return;
      reported = true;
      process.stdout.write(`${String(port)}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    process.exit(0);
  });
} else {
  const origin = await startTlsOrigin({ keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8') });
  process.send?.(origin.port);
}
