// Proxy authentication as agents meet it: anonymous mode ignores whatever credentials arrive; basic mode
// answers 407 with a Basic challenge (never 401, which would make libcurl send origin credentials to the
// proxy) to anything but a known user's right password, accepts UTF-8 names, and keeps every secret out of
// its output.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectStatus } from '../fixtures/raw-client.js';
import { useStage, type Stage } from '../fixtures/stage.js';
import { basicAuthYaml, basicCredentials, type TestUser } from '../fixtures/users.js';

const TARGET = 'ws1.ods.opinsights.azure.com:443';
const CHALLENGE = 'Basic realm="oms-gateway"';

const AGENT: TestUser = { name: 'omsagent', password: 'c0rrect:h0rse@battery-staple' };
const UTF8_USER: TestUser = { name: 'Jürgen Ølstrøm', password: 'pässwörd-Ω-7319' };
const EMAIL_USER: TestUser = { name: 'ops@contoso.example', password: 'Mail-User-Secret-8842' };
const WRONG_PASSWORD = 'Wrong-But-Secret-5527';

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

async function statusWith(stage: Stage, authorization: string | undefined): Promise<{ status: number; challenge: string | undefined }> {
  const head = await connectStatus(stage.gateway.port, TARGET, authorization === undefined ? {} : { headers: { 'Proxy-Authorization': authorization } });
  return { status: head.status, challenge: head.headers['proxy-authenticate'] };
}

describe('anonymous mode', () => {
  const get = useStage();

  const ignored: readonly { name: string; authorization: string | undefined }[] = [
    { name: 'no credentials', authorization: undefined },
    { name: 'credentials of nobody', authorization: basicCredentials('nobody', 'nothing') },
    { name: 'a malformed header', authorization: 'Basic %%%' },
    { name: 'a Bearer token', authorization: 'Bearer abc.def.ghi' },
  ];
  for (const { name, authorization } of ignored) {
    test(`200 with ${name}`, async () => {
      const { status } = await statusWith(get(), authorization);
      assert.equal(status, 200);
    });
  }
});

describe('basic mode', () => {
  // Dozens of deliberate failures from one address: throttling (test/security/auth-throttle.test.ts) stays out of the way.
  const get = useStage({ configYaml: () => basicAuthYaml([AGENT, UTF8_USER, EMAIL_USER], { auth: { throttle: { failuresBeforeDelay: 1000, lockoutFailures: 0 } } }) });

  const refused: readonly { name: string; authorization: string | undefined }[] = [
    { name: 'no Proxy-Authorization', authorization: undefined },
    { name: 'a wrong password', authorization: basicCredentials(AGENT.name, WRONG_PASSWORD) },
    { name: "another user's password", authorization: basicCredentials(AGENT.name, UTF8_USER.password) },
    { name: 'an unknown user', authorization: basicCredentials('intruder', AGENT.password) },
    { name: 'an empty user and password', authorization: basicCredentials('', '') },
    { name: 'the password only up to its first colon', authorization: basicCredentials(AGENT.name, AGENT.password.split(':')[0] ?? '') },
    { name: 'base64 that is not valid', authorization: 'Basic !!!not-base64!!!' },
    { name: 'base64 without a colon inside', authorization: `Basic ${b64(AGENT.name)}` },
    { name: 'the scheme alone', authorization: 'Basic' },
    { name: 'unencoded user:password', authorization: `Basic ${AGENT.name}:${AGENT.password}` },
    { name: 'a Bearer token', authorization: `Bearer ${b64(`${AGENT.name}:${AGENT.password}`)}` },
    { name: 'a Digest header', authorization: `Digest username="${AGENT.name}", realm="oms-gateway", nonce="x", uri="${TARGET}", response="0"` },
  ];

  for (const { name, authorization } of refused) {
    test(`407 with a Basic challenge for ${name}`, async () => {
      const stage = get();
      const connectionsBefore = stage.origin.connections;
      const since = stage.gateway.records.length;
      const { status, challenge } = await statusWith(stage, authorization);
      assert.notEqual(status, 401, 'a 401 would make libcurl send origin credentials to the proxy');
      assert.equal(status, 407);
      assert.equal(challenge, CHALLENGE);
      assert.equal(stage.origin.connections, connectionsBefore);
      const record = await stage.gateway.waitForRecord((r) => r.event === 'auth-failed', 5000, since);
      assert.equal(record.eventId, 1002);
      assert.equal(record.status, 407);
    });
  }

  const accepted: readonly { name: string; user: TestUser; authorization: string }[] = [
    { name: 'a password with ":" and "@"', user: AGENT, authorization: basicCredentials(AGENT.name, AGENT.password) },
    { name: 'a UTF-8 user name and password', user: UTF8_USER, authorization: basicCredentials(UTF8_USER.name, UTF8_USER.password) },
    { name: 'a user name with "@"', user: EMAIL_USER, authorization: basicCredentials(EMAIL_USER.name, EMAIL_USER.password) },
    // RFC 9110 §11.1: the auth-scheme is case-insensitive.
    { name: 'a lower-case scheme', user: AGENT, authorization: `basic ${b64(`${AGENT.name}:${AGENT.password}`)}` },
  ];

  for (const { name, user, authorization } of accepted) {
    test(`200 for ${name}, logged under the user's name`, async () => {
      const stage = get();
      const since = stage.gateway.records.length;
      const { status } = await statusWith(stage, authorization);
      assert.equal(status, 200);
      const record = await stage.gateway.waitForRecord((r) => r.event === 'request-allowed', 5000, since);
      assert.equal(record.user, user.name);
      assert.equal(record.target, TARGET);
    });
  }

  test('a good request after a refused one on a new connection is accepted (no lock-out, no stale cache)', async () => {
    const stage = get();
    assert.equal((await statusWith(stage, basicCredentials(AGENT.name, WRONG_PASSWORD))).status, 407);
    assert.equal((await statusWith(stage, basicCredentials(AGENT.name, AGENT.password))).status, 200);
    assert.equal((await statusWith(stage, basicCredentials(AGENT.name, WRONG_PASSWORD))).status, 407);
  });

  // Runs last: it stops the gateway so that everything it would ever print has been flushed.
  test('no password or Proxy-Authorization value ever appears in stdout or stderr', async () => {
    const stage = get();
    const sent = [...refused, ...accepted].map((c) => c.authorization).filter((a): a is string => a !== undefined);
    for (const authorization of sent) await statusWith(stage, authorization);
    assert.equal(await stage.gateway.stop(), 0);
    const output = stage.gateway.stdout + stage.gateway.stderr;
    assert.ok(stage.gateway.records.some((r) => r.event === 'auth-failed'));
    assert.ok(stage.gateway.records.some((r) => r.event === 'request-allowed'));
    const credentials = sent.map((a) => a.replace(/^\S+\s*/, '')).filter((c) => c.length >= 6);
    const secrets = [...credentials, WRONG_PASSWORD, ...[AGENT, UTF8_USER, EMAIL_USER].map((u) => u.password)];
    for (const secret of secrets) {
      assert.ok(!output.includes(secret), `the gateway printed a secret (${secret.length} characters, not shown)`);
    }
    assert.doesNotMatch(output, /Basic [A-Za-z0-9+/]{8,}/);
  });
});
