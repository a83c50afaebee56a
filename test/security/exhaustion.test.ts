// Running out of file descriptors, and dying: under a low `ulimit -n` the gateway lowers its connection
// limit to what the descriptors can carry, answers new connections 503 while the open tunnels keep relaying,
// survives accept() failing with EMFILE, and serves again once descriptors are free. An uncaught exception
// or an unhandled rejection ends the process with a non-zero status (so a supervisor restarts it) and never
// leaves a listener that accepts without serving.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway, type Gateway } from '../fixtures/gateway.js';
import { openTunnel, parseHead, type Tunnel } from '../fixtures/raw-client.js';
import { startServer } from '../fixtures/slow-reader.js';

const TARGET = 'echo.example:443';
/**
 * Low enough to exhaust quickly, high enough for Node to load the gateway's modules: it reads them in
 * parallel, and how many at once grows with the machine's load. On an idle 2-core machine the gateway
 * started under 112 and never under 96; under the whole suite's load 128 once failed with EMFILE opening
 * one of zod's files, so twice that.
 */
const FD_LIMIT = 256;

/** Writes `text` into an open tunnel to the echo upstream and reads it back. */
async function echoes(tunnel: Tunnel, text: string): Promise<boolean> {
  tunnel.socket.resume();
  const received = new Promise<string>((resolve) => {
    let got = '';
    const onData = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.length >= text.length) {
        tunnel.socket.off('data', onData);
        resolve(got);
      }
    };
    tunnel.socket.on('data', onData);
  });
  tunnel.socket.write(text);
  return (await Promise.race([received, sleep(3000).then(() => '')])) === text;
}

/**
 * 'refused:<status>' for an answer, 'closed' for a connection the gateway ended (FIN or reset) without one,
 * 'hung' when neither happened within 5 s.
 */
async function fate(socket: Socket): Promise<string> {
  let data = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
  const ended = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  const outcome = await Promise.race([ended.then(() => 'done'), sleep(5000).then(() => 'hung')]);
  if (outcome === 'hung') return 'hung';
  return data.includes('\r\n\r\n') ? `refused:${parseHead(data).status}` : 'closed';
}

describe(`file descriptors exhausted (ulimit -n ${FD_LIMIT})`, () => {
  let echo: Awaited<ReturnType<typeof startServer>>;
  let gateway: Gateway;
  const tunnels: Tunnel[] = [];
  before(async () => {
    echo = await startServer((socket) => socket.pipe(socket));
    gateway = await startGateway({
      launcher: ['sh', '-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`],
      configYaml: 'workers: 1\ninspection:\n  enabled: false\nlimits:\n  maxConnectionsPerClient: 0\n',
      args: ['--allow-host', 'echo.example', '--resolve', `echo.example=127.0.0.1:${echo.port}`],
    });
  });
  after(async () => {
    for (const tunnel of tunnels) tunnel.socket.destroy();
    await gateway?.stop();
    await echo.close();
  });

  test('the connection limit is lowered to what the descriptors carry, and the gateway says so', async () => {
    const record = await gateway.waitForRecord((r) => r.event === 'connection-limit-lowered');
    assert.equal(record.eventId, 1403);
    assert.ok(Number(record.effective) > 0 && Number(record.effective) * 2 < FD_LIMIT, `effective ${String(record.effective)}`);
  });

  test('new tunnels are answered 503 once the limit is reached, while the open ones keep relaying', async () => {
    let refusal: string | undefined;
    for (let i = 0; i < FD_LIMIT && refusal === undefined; i++) {
      try {
        tunnels.push(await openTunnel(gateway.port, TARGET, { timeoutMs: 3000 }));
      } catch (err) {
        refusal = err instanceof Error ? err.message : String(err);
      }
    }
    assert.ok(tunnels.length >= 5, `only ${tunnels.length} tunnels opened`);
    assert.match(refusal ?? 'no refusal', /503 Service Unavailable/);
    for (const [i, tunnel] of tunnels.entries()) assert.ok(await echoes(tunnel, `still relaying ${i}`), `tunnel ${i} stopped relaying`);
  });

  test('a flood of connections beyond the descriptors: each is answered or closed, none hangs, the process lives', async () => {
    // Each keeps its end open after the answer, so the gateway holds every refused socket until its linger
    // runs out, and the descriptors really run out.
    const flooding = Array.from({ length: FD_LIMIT }, () => connect({ host: '127.0.0.1', port: gateway.port, allowHalfOpen: true }).on('error', () => undefined));
    const flood = await Promise.all(flooding.map(fate));
    assert.ok(!flood.includes('hung'), JSON.stringify(flood));
    assert.ok(flood.every((f) => f === 'refused:503' || f === 'closed'), JSON.stringify(flood));
    for (const socket of flooding) socket.destroy();
    // Those that found a descriptor for the answer got 503; libuv closes the rest at once (its EMFILE
    // reserve descriptor), which no process without descriptors can improve on.
    assert.ok(flood.includes('refused:503'), JSON.stringify(flood));
    const status = await Promise.race([gateway.exited.then(() => 'exited'), sleep(500).then(() => 'running')]);
    assert.equal(status, 'running');
    for (const [i, tunnel] of tunnels.entries()) assert.ok(await echoes(tunnel, `after the flood ${i}`), `tunnel ${i} stopped relaying`);
  });

  test('once descriptors are free again, new tunnels are served', async () => {
    for (const tunnel of tunnels.splice(0)) tunnel.socket.destroy();
    let served: Tunnel | undefined;
    for (let i = 0; i < 50 && served === undefined; i++) {
      served = await openTunnel(gateway.port, TARGET, { timeoutMs: 3000 }).catch(() => undefined);
      if (served === undefined) await sleep(100);
    }
    assert.ok(served !== undefined, 'no tunnel opened after the others closed');
    assert.ok(await echoes(served, 'recovered'));
    served.socket.destroy();
  });
});

describe('a fatal error ends the process', () => {
  // Injected through the real CLI: a module preloaded with --import that fails on SIGWINCH, which the
  // gateway itself does not use.
  const failures = [
    { name: 'an uncaught exception', code: "process.on('SIGWINCH', () => { throw new Error('injected failure'); });" },
    { name: 'an unhandled rejection', code: "process.on('SIGWINCH', () => { Promise.reject(new Error('injected failure')); });" },
  ];
  for (const { name, code } of failures) {
    test(`${name}: exit status 1, a fatal record, and the port no longer accepts`, async (t) => {
      const gateway = await startGateway({
        configYaml: 'workers: 1\n',
        env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(code)}` },
      });
      t.after(() => gateway.stop('SIGKILL'));
      process.kill(gateway.pid, 'SIGWINCH');
      const status = await Promise.race([gateway.exited, sleep(10_000).then(() => undefined)]);
      assert.ok(status !== undefined, 'the process did not exit');
      assert.equal(status.code, 1);
      await gateway.waitForRecord((r) => r.level === 'fatal');
      const socket = connect({ host: '127.0.0.1', port: gateway.port });
      const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
    });
  }
});
