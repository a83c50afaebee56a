// The `metrics` and `log` settings and their flags (--metrics-listen, --log-format): defaults, accepted
// forms, and one case per way they can be wrong, each refused with the key and what was expected.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfigText, redactConfig, type ConfigOverrides } from '../../src/config/load.js';

const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=';

function issuesOf(text: string, overrides: ConfigOverrides = {}): { key: string; message: string }[] {
  try {
    parseConfigText(text, 'test.yaml', overrides);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map(({ key, message }) => ({ key, message }));
  }
  assert.fail('the configuration was accepted');
}

describe('defaults', () => {
  test('an empty file: metrics on loopback 9464 at /metrics, JSON lines on standard output', () => {
    const config = parseConfigText('', 'empty.yaml');
    assert.deepEqual(config.metrics, {
      enabled: true,
      listen: { host: '127.0.0.1', port: 9464, optional: false },
      path: '/metrics',
      users: [],
      tls: undefined,
      workspaceLabels: false,
      maxWorkspaces: 200,
      maxEventLoopDelaySeconds: 5,
      stallReportSeconds: 10,
    });
    assert.equal(config.log.format, 'json');
    assert.equal(config.log.file, undefined);
  });
});

describe('accepted settings', () => {
  test('every metrics and log key set', () => {
    const config = parseConfigText(
      [
        'log: {level: debug, format: pretty, file: /var/log/oms-gateway/gw.log, bufferBytes: 0}',
        'metrics:',
        '  enabled: true',
        '  listen: "[::1]:9100"',
        '  path: /prom/metrics',
        `  users: [{name: prometheus, passwordHash: "${HASH}"}]`,
        '  tls: {cert: /etc/oms-gateway/certs/gateway.crt, key: /etc/oms-gateway/certs/gateway.key}',
        '  workspaceLabels: true',
        '  maxWorkspaces: 5',
        '  maxEventLoopDelaySeconds: 0.5',
      ].join('\n'),
      'full.yaml',
    );
    assert.deepEqual(config.log, { level: 'debug', format: 'pretty', file: '/var/log/oms-gateway/gw.log', bufferBytes: 0 });
    assert.deepEqual(config.metrics.listen, { host: '::1', port: 9100, optional: false });
    assert.equal(config.metrics.path, '/prom/metrics');
    assert.deepEqual(config.metrics.users.map((u) => u.name), ['prometheus']);
    assert.deepEqual(config.metrics.tls, { cert: '/etc/oms-gateway/certs/gateway.crt', key: '/etc/oms-gateway/certs/gateway.key' });
    assert.equal(config.metrics.workspaceLabels, true);
    assert.equal(config.metrics.maxWorkspaces, 5);
    assert.equal(config.metrics.maxEventLoopDelaySeconds, 0.5);
  });

  test('--metrics-listen and --log-format override the file', () => {
    const config = parseConfigText('metrics: {listen: "127.0.0.1:9100"}\nlog: {format: json}\n', 'flags.yaml', {
      metricsListen: '0.0.0.0:0',
      logFormat: 'pretty',
    });
    assert.deepEqual(config.metrics.listen, { host: '0.0.0.0', port: 0, optional: false });
    assert.equal(config.log.format, 'pretty');
  });

  test('config check output shows who may scrape but not their password hashes', () => {
    const config = parseConfigText(`metrics: {users: [{name: prometheus, passwordHash: "${HASH}"}]}\n`, 'redact.yaml');
    const shown = JSON.stringify(redactConfig(config));
    assert.ok(!shown.includes(HASH));
    const { metrics } = JSON.parse(shown) as { metrics: { users: unknown } };
    assert.deepEqual(metrics.users, [{ name: 'prometheus', passwordHash: '[redacted]' }]);
  });
});

describe('refused settings', () => {
  const cases: readonly { name: string; text: string; overrides?: ConfigOverrides; key: string; message: RegExp }[] = [
    { name: 'a path without its slash', text: 'metrics: {path: metrics}', key: 'metrics.path', message: /expected a path such as \/metrics/ },
    { name: 'a health path as the metrics path', text: 'metrics: {path: /healthz}', key: 'metrics.path', message: /not \/healthz or \/readyz/ },
    { name: 'a path with a query', text: 'metrics: {path: "/metrics?x=1"}', key: 'metrics.path', message: /expected a path/ },
    { name: 'a host name to listen on', text: 'metrics: {listen: "localhost:9464"}', key: 'metrics.listen', message: /HOST must be an IP address/ },
    { name: 'a port out of range', text: 'metrics: {listen: "127.0.0.1:70000"}', key: 'metrics.listen', message: /PORT must be a whole number 0-65535/ },
    { name: 'no workspace labels at all', text: 'metrics: {maxWorkspaces: 0}', key: 'metrics.maxWorkspaces', message: /whole number from 1 to 100000/ },
    { name: 'a stall threshold of zero', text: 'metrics: {maxEventLoopDelaySeconds: 0}', key: 'metrics.maxEventLoopDelaySeconds', message: /greater than 0/ },
    { name: 'a stall report window over ten minutes', text: 'metrics: {stallReportSeconds: 601}', key: 'metrics.stallReportSeconds', message: /at most 600/ },
    { name: 'a relative certificate path', text: 'metrics: {tls: {cert: certs/gw.crt, key: /k.pem}}', key: 'metrics.tls.cert', message: /absolute path/ },
    { name: 'a certificate without its key', text: 'metrics: {tls: {cert: /c.pem}}', key: 'metrics.tls.key', message: /absolute path/ },
    { name: 'a misspelt key', text: 'metrics: {port: 9464}', key: 'metrics.port', message: /unknown key; expected one of: enabled, listen, path, users, tls/ },
    { name: 'a scraper with a plain password', text: 'metrics: {users: [{name: p, passwordHash: secret}]}', key: 'metrics.users[0].passwordHash', message: /hash written by `oms-gateway user add`/ },
    { name: 'the same scraper twice', text: `metrics: {users: [{name: p, passwordHash: "${HASH}"}, {name: p, passwordHash: "${HASH}"}]}`, key: 'metrics.users[1].name', message: /same name as metrics\.users\[0\]/ },
    { name: 'a relative log file', text: 'log: {file: gateway.log}', key: 'log.file', message: /absolute path/ },
    { name: 'an unknown log format', text: 'log: {format: xml}', key: 'log.format', message: /expected one of: json, pretty/ },
    { name: 'a bad --metrics-listen', text: '', overrides: { metricsListen: 'nowhere' }, key: '--metrics-listen', message: /"nowhere": expected HOST:PORT/ },
    { name: 'a bad --log-format', text: '', overrides: { logFormat: 'xml' }, key: '--log-format', message: /"xml": expected one of: json, pretty/ },
  ];
  for (const { name, text, overrides, key, message } of cases) {
    test(name, () => {
      const issues = issuesOf(text, overrides);
      const issue = issues.find((i) => i.key === key);
      assert.ok(issue !== undefined, `no issue for ${key}: ${JSON.stringify(issues)}`);
      assert.match(issue.message, message);
      assert.ok(!issue.message.includes('secret'), 'the message repeats the value');
    });
  }
});
