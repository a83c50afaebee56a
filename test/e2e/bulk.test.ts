// 50 MB each way through one tunnel arrive bit for bit (same SHA-256), and the tunnel's audit record counts
// them: the relay neither loses, duplicates nor reorders bytes under backpressure.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { pseudoRandomSha256, pseudoRandomStream } from '../fixtures/bytes.js';
import { recordMatching } from '../fixtures/gateway.js';
import { openTunnel } from '../fixtures/raw-client.js';
import { useStage } from '../fixtures/stage.js';
import { connectTls, readText, requestOver } from '../fixtures/tls-client.js';

const SIZE = 50 * 1024 * 1024;
const TIMEOUT_MS = 120_000;

describe('50 MB through one tunnel', () => {
  const get = useStage();
  const expected = pseudoRandomSha256(SIZE);

  test('download: the client receives exactly the bytes the origin sent', { timeout: TIMEOUT_MS }, async () => {
    const { gateway, pki } = get();
    const host = 'download.ods.opinsights.azure.com';
    const { socket } = await openTunnel(gateway.port, `${host}:443`);
    const tls = await connectTls(socket, host, pki.caPem);
    const response = await requestOver(tls, { method: 'GET', path: `/bytes?n=${SIZE}`, host });
    assert.equal(response.statusCode, 200);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of response) {
      hash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    assert.equal(received, SIZE);
    assert.equal(hash.digest('hex'), expected);

    const closed = await gateway.waitForRecord(recordMatching({ event: 'tunnel-closed', target: `${host}:443` }), 10_000);
    assert.equal(closed.eventId, 1003);
    // TLS framing adds bytes, so the payload is a floor, not an exact count.
    assert.ok(Number(closed.bytesToClient) >= SIZE, `bytesToClient ${String(closed.bytesToClient)}`);
    assert.ok(Number(closed.bytesFromClient) > 0 && Number(closed.bytesFromClient) < 1024 * 1024, `bytesFromClient ${String(closed.bytesFromClient)}`);
  });

  test('upload: the origin hashes exactly the bytes the client sent', { timeout: TIMEOUT_MS }, async () => {
    const { gateway, pki } = get();
    const host = 'upload.ods.opinsights.azure.com';
    const { socket } = await openTunnel(gateway.port, `${host}:443`);
    const tls = await connectTls(socket, host, pki.caPem);
    const response = await requestOver(tls, {
      method: 'POST',
      path: '/sha256',
      host,
      headers: { 'content-type': 'application/octet-stream', 'content-length': SIZE },
      body: pseudoRandomStream(SIZE),
    });
    assert.equal(response.statusCode, 200);
    assert.equal(await readText(response), expected);

    const closed = await gateway.waitForRecord(recordMatching({ event: 'tunnel-closed', target: `${host}:443` }), 10_000);
    assert.ok(Number(closed.bytesFromClient) >= SIZE, `bytesFromClient ${String(closed.bytesFromClient)}`);
    assert.ok(Number(closed.bytesToClient) > 0 && Number(closed.bytesToClient) < 1024 * 1024, `bytesToClient ${String(closed.bytesToClient)}`);
    assert.equal(typeof closed.durationMs, 'number');
  });
});
