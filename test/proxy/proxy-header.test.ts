import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import type { ProxyProtocolConfig } from '../../src/config/types.js';
import { proxyHeaderReader, readProxyHeader, type ProxyHeaderOutcome } from '../../src/proxy/proxy-header.js';
import { v1Header, v2Header } from '../fixtures/proxy-headers.js';

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** Listens on `host`, sends `bytes` from a loopback client, and reads the header off the accepted socket. */
async function readOn(host: string, config: Partial<ProxyProtocolConfig>, bytes: Buffer): Promise<{ outcome: ProxyHeaderOutcome; rest: string }> {
  const server = createServer();
  servers.push(server);
  server.listen(0, host);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  client.on('error', () => undefined);
  client.write(bytes);
  const [socket] = await accepted;
  const reader = proxyHeaderReader({ trusted: ['127.0.0.1/32'], required: false, headerTimeoutSeconds: 2, maxHeaderBytes: 1024, ...config });
  const outcome = await readProxyHeader(socket, reader);
  let rest = '';
  if (outcome.ok) {
    // What the next reader (TLS sniffing, the HTTP parser) gets: the bytes after the header, none lost.
    socket.setEncoding('latin1');
    const deadline = Date.now() + 2000;
    socket.on('data', (chunk: string) => (rest += chunk));
    while (!rest.endsWith('\r\n\r\n') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  socket.destroy();
  client.destroy();
  return { outcome, rest };
}

const REQUEST = 'CONNECT ws1.ods.opinsights.azure.com:443 HTTP/1.1\r\n\r\n';

describe('readProxyHeader on real sockets', () => {
  test('the bytes after a header are handed on intact', async () => {
    const { outcome, rest } = await readOn('127.0.0.1', {}, Buffer.concat([v2Header(), Buffer.from(REQUEST)]));
    assert.deepEqual(outcome, { ok: true, client: '192.0.2.7', clientPort: 50123, viaHeader: true });
    assert.equal(rest, REQUEST);
  });

  test('without a header every byte is handed on', async () => {
    const { outcome, rest } = await readOn('127.0.0.1', {}, Buffer.from(REQUEST));
    assert.equal(outcome.ok && outcome.viaHeader, false);
    assert.equal(rest, REQUEST);
  });

  test('an IPv4 peer of a dual-stack socket (::ffff:127.0.0.1) matches an IPv4 trusted range', async (t) => {
    let result: { outcome: ProxyHeaderOutcome; rest: string };
    try {
      result = await readOn('::', {}, Buffer.concat([Buffer.from(v1Header('203.0.113.9', 40001)), Buffer.from(REQUEST)]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT') return t.skip('no IPv6 on this host');
      throw err;
    }
    assert.deepEqual(result.outcome, { ok: true, client: '203.0.113.9', clientPort: 40001, viaHeader: true });
  });

  test('only ::ffff: maps between families: a 6to4 range embedding the peer\'s IPv4 address does not trust it', async () => {
    const { outcome } = await readOn('127.0.0.1', { trusted: ['2002:7f00:1::/48'] }, v2Header());
    assert.deepEqual(outcome, { ok: false, reason: 'untrusted-header' });
  });

  test('required: an untrusted source is refused before anything is read', async () => {
    const { outcome } = await readOn('127.0.0.1', { trusted: ['10.0.0.0/8'], required: true }, v2Header());
    assert.deepEqual(outcome, { ok: false, reason: 'untrusted-source' });
  });

  test('a partial header is refused when the time is up', async () => {
    const { outcome } = await readOn('127.0.0.1', { headerTimeoutSeconds: 0.2 }, Buffer.from('PROXY TCP4 '));
    assert.deepEqual(outcome, { ok: false, reason: 'timeout' });
  });
});
