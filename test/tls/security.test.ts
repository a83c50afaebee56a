// How a request is authenticated on each kind of connection: plain or TLS, with or without a verified client
// certificate, in each clientAuth mode and proxy auth mode.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionAuth, type ConnectionSecurity } from '../../src/tls/security.js';

const PLAIN_REFUSING: ConnectionSecurity = { encrypted: false, refusePlainCredentials: true, certificate: undefined };
const PLAIN_ALLOWING: ConnectionSecurity = { encrypted: false, refusePlainCredentials: false, certificate: undefined };
const TLS: ConnectionSecurity = { encrypted: true, refusePlainCredentials: false, certificate: undefined };
const ALTERNATIVE: ConnectionSecurity = { encrypted: true, refusePlainCredentials: false, certificate: { subject: 'CN=agent', mode: 'alternative' } };
const REQUIRED: ConnectionSecurity = { encrypted: true, refusePlainCredentials: false, certificate: { subject: 'CN=agent', mode: 'required' } };

const cases: readonly { name: string; security: ConnectionSecurity | undefined; credentials: boolean; mode: 'anonymous' | 'basic'; expect: ReturnType<typeof connectionAuth> }[] = [
  { name: 'a plain-only listener', security: undefined, credentials: true, mode: 'basic', expect: { kind: 'basic' } },
  { name: 'credentials in clear where refused', security: PLAIN_REFUSING, credentials: true, mode: 'basic', expect: { kind: 'refuse' } },
  { name: 'no credentials in clear where refused (407 or anonymous follows)', security: PLAIN_REFUSING, credentials: false, mode: 'basic', expect: { kind: 'basic' } },
  { name: 'credentials in clear where allowed', security: PLAIN_ALLOWING, credentials: true, mode: 'basic', expect: { kind: 'basic' } },
  { name: 'credentials over TLS', security: TLS, credentials: true, mode: 'basic', expect: { kind: 'basic' } },
  { name: 'a certificate in alternative mode replaces Basic', security: ALTERNATIVE, credentials: false, mode: 'basic', expect: { kind: 'certificate', user: 'CN=agent' } },
  { name: 'a certificate in alternative mode wins over sent credentials', security: ALTERNATIVE, credentials: true, mode: 'basic', expect: { kind: 'certificate', user: 'CN=agent' } },
  { name: 'a certificate in required mode adds to Basic', security: REQUIRED, credentials: true, mode: 'basic', expect: { kind: 'basic' } },
  { name: 'a certificate in required mode is the credential of an anonymous gateway', security: REQUIRED, credentials: false, mode: 'anonymous', expect: { kind: 'certificate', user: 'CN=agent' } },
];

for (const { name, security, credentials, mode, expect } of cases) {
  test(name, () => assert.deepEqual(connectionAuth(security, credentials, mode), expect));
}
