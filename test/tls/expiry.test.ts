// The expiry times the metrics side reads: one per certificate file, the latest load winning.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateExpiries, recordExpiry } from '../../src/tls/expiry.js';

test('each certificate file keeps the expiry of its latest load', () => {
  recordExpiry('proxy:/etc/oms-gateway/certs/gateway.crt', new Date('2030-01-01T00:00:00Z'));
  recordExpiry('client-ca:/etc/oms-gateway/certs/clients.crt', new Date('2031-01-01T00:00:00Z'));
  recordExpiry('proxy:/etc/oms-gateway/certs/gateway.crt', new Date('2032-01-01T00:00:00Z'));
  assert.deepEqual(certificateExpiries(), [
    { certificate: 'proxy:/etc/oms-gateway/certs/gateway.crt', notAfter: new Date('2032-01-01T00:00:00Z') },
    { certificate: 'client-ca:/etc/oms-gateway/certs/clients.crt', notAfter: new Date('2031-01-01T00:00:00Z') },
  ]);
});
