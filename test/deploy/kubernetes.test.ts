// deploy/kubernetes: every manifest parses; the ConfigMap's configuration goes through the gateway's own
// loader with the Deployment's arguments; and ports, probe paths, mounted paths, the user and the drain
// timing agree with that configuration, the gateway's defaults and the container image. A default that
// changes in the source, or a manifest edited on its own, fails here rather than in a cluster.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { HEALTH_PATH, READY_PATH } from '../../src/observability/metrics-server.js';
import { environment, last, parseDockerfile } from './dockerfile.js';
import { DEPLOY_DIR, defaultConfig, effectiveConfig, isWildcard, readRepoFile } from './effective.js';
import { hasCommand, runCommand } from '../fixtures/tools.js';

/** A loosely typed view of parsed YAML: tests reach into manifests by path and assert on what they find. */
type Node = Record<string, unknown>;

function at(node: unknown, ...path: (string | number)[]): unknown {
  let value: unknown = node;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}
const list = (node: unknown, ...path: (string | number)[]): Node[] => {
  const value = at(node, ...path);
  return Array.isArray(value) ? (value as Node[]) : [];
};
const text = (node: unknown, ...path: (string | number)[]): string => {
  const value = at(node, ...path);
  assert.equal(typeof value, 'string', `${path.join('.')} is a string`);
  return value as string;
};
const number = (node: unknown, ...path: (string | number)[]): number => {
  const value = at(node, ...path);
  assert.equal(typeof value, 'number', `${path.join('.')} is a number`);
  return value as number;
};

const K8S_DIR = join(DEPLOY_DIR, 'kubernetes');
const files = readdirSync(K8S_DIR).filter((name) => name.endsWith('.yaml')).sort();
const manifests: { file: string; doc: Node }[] = files.flatMap((file) =>
  parseAllDocuments(readRepoFile('deploy', 'kubernetes', file)).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file} parses`);
    return { file, doc: doc.toJS() as Node };
  }),
);
function one(kind: string, name?: string): Node {
  const found = manifests.filter(({ doc }) => doc.kind === kind && (name === undefined || at(doc, 'metadata', 'name') === name));
  assert.equal(found.length, 1, `one ${kind}${name === undefined ? '' : ` ${name}`}`);
  return (found[0] as { doc: Node }).doc;
}

const deployment = one('Deployment');
const pod = at(deployment, 'spec', 'template') as Node;
const podLabels = at(pod, 'metadata', 'labels') as Record<string, string>;
const container = list(pod, 'spec', 'containers')[0] as Node;
const env = Object.fromEntries(list(container, 'env').map((e) => [text(e, 'name'), text(e, 'value')]));
const ports = new Map(list(container, 'ports').map((p) => [text(p, 'name'), number(p, 'containerPort')]));
const configMap = one('ConfigMap');
const secret = one('Secret');
const volume = list(pod, 'spec', 'volumes').find((v) => v.name === 'config') as Node;
const mount = list(container, 'volumeMounts').find((m) => m.name === 'config') as Node;

/** Files the projected volume puts under the mount: path in the volume → [source kind, key, optional]. */
const projected = new Map<string, { kind: 'configMap' | 'secret'; key: string; optional: boolean }>(
  list(volume, 'projected', 'sources').flatMap((source) => {
    const kind = source.configMap === undefined ? 'secret' : 'configMap';
    return list(source, kind, 'items').map((item) => [text(item, 'path'), { kind, key: text(item, 'key'), optional: at(source, kind, 'optional') === true }] as const);
  }),
);

/** The file the pod sees at `path`, read from the ConfigMap or Secret that the projected volume maps there. */
function mountedText(path: string): string {
  const mountPath = text(mount, 'mountPath');
  assert.ok(path.startsWith(`${mountPath}/`), `${path} is under the ${mountPath} mount`);
  const source = projected.get(path.slice(mountPath.length + 1));
  assert.ok(source, `${path} is projected into the pod`);
  const data = source.kind === 'configMap' ? at(configMap, 'data', source.key) : at(secret, 'stringData', source.key);
  assert.equal(typeof data, 'string', `${source.kind} key ${source.key} exists`);
  return data as string;
}

const args = list(container, 'args') as unknown as string[];
const config: GatewayConfig = effectiveConfig(args, env, mountedText);
const defaults = defaultConfig();
const selects = (selector: unknown): boolean =>
  Object.entries((selector ?? {}) as Record<string, string>).every(([key, value]) => podLabels[key] === value) && Object.keys(selector ?? {}).length > 0;

describe('kubernetes manifests', () => {
  test('every file parses into named Kubernetes objects, and kustomization lists them all', () => {
    for (const { file, doc } of manifests) {
      assert.ok(typeof doc.apiVersion === 'string' && typeof doc.kind === 'string', `${file}: apiVersion and kind`);
      if (doc.kind !== 'Kustomization') assert.ok(typeof at(doc, 'metadata', 'name') === 'string', `${file}: metadata.name`);
    }
    const resources = list(one('Kustomization'), 'resources') as unknown as string[];
    assert.deepEqual([...resources].sort(), files.filter((f) => f !== 'kustomization.yaml' && !f.endsWith('.example.yaml')));
  });

  test('kubectl apply -k keeps the operator\'s users: no Secret is a resource, the pods start without one', () => {
    const resources = list(one('Kustomization'), 'resources') as unknown as string[];
    const applied = manifests.filter(({ file }) => resources.includes(file)).map(({ doc }) => doc.kind);
    assert.ok(!applied.includes('Secret'), `a Secret would be applied: ${applied.join(', ')}`);
    assert.ok(manifests.some(({ file, doc }) => file === 'secret.example.yaml' && doc.kind === 'Secret'), 'the example Secret is shipped');
    assert.equal(at(secret, 'metadata', 'name'), 'oms-gateway');
    const source = list(volume, 'projected', 'sources').find((s) => s.secret !== undefined);
    assert.equal(at(source, 'secret', 'name'), at(secret, 'metadata', 'name'));
    assert.equal(at(source, 'secret', 'optional'), true);
  });

  test('what kubectl kustomize renders holds no Secret', async (t) => {
    if (!hasCommand('kubectl')) {
      t.skip('kubectl is not installed');
      return;
    }
    const rendered = await runCommand('kubectl', ['kustomize', K8S_DIR]);
    assert.equal(rendered.code, 0, rendered.stderr);
    const kinds = parseAllDocuments(rendered.stdout).map((doc) => (doc.toJS() as Node).kind);
    assert.ok(kinds.includes('Deployment') && kinds.includes('ConfigMap'), kinds.join(', '));
    assert.ok(!kinds.includes('Secret'), kinds.join(', '));
  });

  test('the kinds the issue asks for are all there', () => {
    const kinds = new Set(manifests.map(({ doc }) => doc.kind));
    for (const kind of ['Deployment', 'Service', 'ConfigMap', 'Secret', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ServiceMonitor']) {
      assert.ok(kinds.has(kind), kind);
    }
  });

  test('the ConfigMap holds a configuration the gateway accepts, on the default proxy port, metrics open to the pod network', () => {
    assert.equal(env.OMS_GATEWAY_CONFIG, config.sourcePath);
    assert.deepEqual(new Set(config.listen.map((l) => l.port)), new Set(defaults.listen.map((l) => l.port)));
    assert.ok(config.listen.every((l) => isWildcard(l.host)));
    assert.equal(config.metrics.listen.port, defaults.metrics.listen.port);
    assert.ok(isWildcard(config.metrics.listen.host), 'the kubelet and Prometheus reach the metrics listener on the pod address');
  });

  test('runs two or more replicas, never fewer than two under the autoscaler', () => {
    assert.ok(number(deployment, 'spec', 'replicas') >= 2);
    const hpa = one('HorizontalPodAutoscaler');
    assert.deepEqual([text(hpa, 'spec', 'scaleTargetRef', 'kind'), text(hpa, 'spec', 'scaleTargetRef', 'name')], ['Deployment', text(deployment, 'metadata', 'name')]);
    assert.ok(number(hpa, 'spec', 'minReplicas') >= 2 && number(hpa, 'spec', 'maxReplicas') >= number(hpa, 'spec', 'minReplicas'));
    assert.ok(selects(at(deployment, 'spec', 'selector', 'matchLabels')));
  });

  test('container ports are the configured listeners', () => {
    assert.deepEqual(ports, new Map([['proxy', config.listen[0]?.port], ['metrics', config.metrics.listen.port]]));
  });

  test('liveness and readiness probe the real endpoints on the metrics port', () => {
    const probe = (name: string): Node => at(container, name, 'httpGet') as Node;
    assert.deepEqual([text(probe('livenessProbe'), 'path'), ports.get(text(probe('livenessProbe'), 'port'))], [HEALTH_PATH, config.metrics.listen.port]);
    assert.deepEqual([text(probe('readinessProbe'), 'path'), ports.get(text(probe('readinessProbe'), 'port'))], [READY_PATH, config.metrics.listen.port]);
  });

  test('a terminating pod leaves the endpoints before it stops accepting, and is not killed mid-drain', () => {
    const readiness = at(container, 'readinessProbe');
    const noticeSeconds = number(readiness, 'periodSeconds') * number(readiness, 'failureThreshold');
    const { drainDelaySeconds, shutdownGraceSeconds } = config.timeouts;
    assert.ok(drainDelaySeconds > noticeSeconds, `drainDelaySeconds ${drainDelaySeconds} ≤ readiness ${noticeSeconds} s`);
    assert.ok(number(pod, 'spec', 'terminationGracePeriodSeconds') > drainDelaySeconds + shutdownGraceSeconds);
    assert.equal(at(deployment, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable'), 0);
  });

  test('has CPU and memory requests and limits', () => {
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) assert.ok(at(container, 'resources', kind, resource) !== undefined, `${kind}.${resource}`);
    }
  });

  test('runs as the image’s unprivileged user on a read-only root, without capabilities or privilege escalation', () => {
    const image = parseDockerfile(readRepoFile('deploy', 'container', 'Dockerfile')).stages.at(-1);
    assert.ok(image);
    const [uid] = (last(image, 'USER')?.args ?? '').split(':');
    assert.equal(at(pod, 'spec', 'securityContext', 'runAsNonRoot'), true);
    assert.equal(at(pod, 'spec', 'securityContext', 'runAsUser'), Number(uid));
    assert.equal(at(container, 'securityContext', 'readOnlyRootFilesystem'), true);
    assert.equal(at(container, 'securityContext', 'allowPrivilegeEscalation'), false);
    assert.deepEqual(at(container, 'securityContext', 'capabilities', 'drop'), ['ALL']);
    assert.equal(env.OMS_GATEWAY_CONFIG, environment(image).get('OMS_GATEWAY_CONFIG'), 'the same configuration path as the image');
    const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
    assert.equal(text(container, 'image'), `oms-gateway:${version}`);
  });

  test('configuration, users and certificates are mounted where the configuration names them', () => {
    assert.equal(text(mount, 'mountPath'), dirname(config.sourcePath ?? ''));
    assert.equal(mount.readOnly, true);
    assert.equal(projected.get(posix.basename(config.sourcePath ?? ''))?.kind, 'configMap');
    for (const [path, source] of projected) {
      if (source.kind === 'configMap') assert.ok(at(configMap, 'data', source.key) !== undefined, `ConfigMap key ${source.key}`);
      else assert.ok(source.optional || at(secret, 'stringData', source.key) !== undefined, `Secret key ${source.key} for ${path}`);
    }
    // The users file the ConfigMap's comment tells operators to name is the Secret's, in the form the
    // gateway reads (checked from a copy: the loader reads the file itself).
    assert.ok(readRepoFile('deploy', 'kubernetes', 'configmap.yaml').includes(`usersFile: ${text(mount, 'mountPath')}/users.yaml`));
    assert.deepEqual(projected.get('users.yaml'), { kind: 'secret', key: 'users.yaml', optional: true });
    const copy = join(mkdtempSync(join(tmpdir(), 'oms-gateway-k8s-')), 'users.yaml');
    writeFileSync(copy, mountedText(`${text(mount, 'mountPath')}/users.yaml`));
    try {
      assert.deepEqual(parseConfigText(`auth:\n  usersFile: ${copy}\n`, 'check').auth.users, []);
    } finally {
      rmSync(dirname(copy), { recursive: true, force: true });
    }
    assert.ok([...projected.keys()].some((p) => p.startsWith('certs/')), 'certificates under certs/');
    assert.ok(list(container, 'volumeMounts').some((m) => m.mountPath === '/tmp'), 'a writable /tmp on the read-only root');
  });
});

describe('kubernetes services and policies', () => {
  const services = manifests.filter(({ doc }) => doc.kind === 'Service').map(({ doc }) => doc);
  const servicePort = (name: string): Node | undefined =>
    services.flatMap((s) => list(s, 'spec', 'ports').map((p) => ({ s, p }))).find(({ p }) => p.name === name)?.p;

  test('Services expose the proxy (TCP 8080) and the metrics port, selecting the pods', () => {
    for (const service of services) assert.ok(selects(at(service, 'spec', 'selector')), `${String(at(service, 'metadata', 'name'))} selects the pods`);
    for (const name of ['proxy', 'metrics']) {
      const port = servicePort(name);
      assert.ok(port, `a Service port named ${name}`);
      assert.equal(ports.get(text(port, 'targetPort')), ports.get(name));
      assert.equal(port.protocol, 'TCP');
    }
    assert.equal(number(servicePort('proxy'), 'port'), defaults.listen[0]?.port);
    const metricsService = services.find((s) => list(s, 'spec', 'ports').some((p) => p.name === 'metrics'));
    assert.equal(at(metricsService, 'spec', 'type'), 'ClusterIP', 'metrics stay inside the cluster');
  });

  test('the PodDisruptionBudget lets at most one pod of two go', () => {
    const pdb = one('PodDisruptionBudget');
    assert.ok(selects(at(pdb, 'spec', 'selector', 'matchLabels')));
    const maxUnavailable = at(pdb, 'spec', 'maxUnavailable');
    const minAvailable = at(pdb, 'spec', 'minAvailable');
    assert.ok(maxUnavailable === 1 || (typeof minAvailable === 'number' && minAvailable >= 1 && minAvailable < number(deployment, 'spec', 'replicas')));
  });

  test('the NetworkPolicy lets in the proxy and metrics ports, and out only HTTPS and DNS', () => {
    const policy = one('NetworkPolicy');
    assert.ok(selects(at(policy, 'spec', 'podSelector', 'matchLabels')));
    assert.deepEqual(new Set(at(policy, 'spec', 'policyTypes') as string[]), new Set(['Ingress', 'Egress']));
    const portsOf = (rules: Node[]): string[] => rules.flatMap((rule) => list(rule, 'ports').map((p) => `${number(p, 'port')}/${text(p, 'protocol')}`)).sort();
    assert.deepEqual(portsOf(list(policy, 'spec', 'ingress')), [`${config.listen[0]?.port}/TCP`, `${config.metrics.listen.port}/TCP`].sort());
    assert.deepEqual(portsOf(list(policy, 'spec', 'egress')), ['443/TCP', '53/TCP', '53/UDP']);
    const allowlistPorts = new Set(config.policy.allowlist.flatMap((entry) => entry.ports));
    assert.deepEqual(allowlistPorts, new Set([443]), 'every port the configuration allows is let out');
  });

  test('the ServiceMonitor scrapes the metrics Service at the configured path', () => {
    const monitor = one('ServiceMonitor');
    const selector = at(monitor, 'spec', 'selector', 'matchLabels') as Record<string, string>;
    const metricsService = services.find((s) => Object.entries(selector).every(([k, v]) => at(s, 'metadata', 'labels', k) === v));
    assert.ok(metricsService, 'a Service carries the labels the ServiceMonitor selects');
    const [endpoint] = list(monitor, 'spec', 'endpoints');
    assert.ok(list(metricsService, 'spec', 'ports').some((p) => p.name === text(endpoint, 'port')));
    assert.equal(text(endpoint, 'path'), config.metrics.path);
    const job = at(metricsService, 'metadata', 'labels', text(monitor, 'spec', 'jobLabel'));
    const alertJobs = new Set([...readRepoFile('deploy', 'prometheus', 'alerts.yml').matchAll(/job="([^"]+)"/g)].map((m) => m[1]));
    assert.deepEqual(alertJobs, new Set([job]), 'the job label the alerting rules select');
  });
});
