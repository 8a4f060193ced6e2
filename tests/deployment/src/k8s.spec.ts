// infra/k8s, checked without a cluster: the Kustomize tree is read as kustomize would (resources, files
// and folders), each Deployment's environment is resolved from env and envFrom (ConfigMaps from the tree,
// Secrets from secrets.example.yaml) and checked against the app's config schema, and probes, ports,
// grace periods, disruption budgets and the NATS cluster's durability are checked against it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '@tidemark/config';
import { APPS, TOPOLOGY_OWNER, mustSet, natsBlock, parseNatsConf, portOf, readRepoFile, repoRoot, urlIn, variablesOf, type App, type NatsConf } from './deployment';

const K8S = 'infra/k8s';
const SECRETS_TEMPLATE = `${K8S}/secrets.example.yaml`;
const REPLICAS: Record<string, number> = { gateway: 3, 'journal-service': 2, 'merge-service': 2, 'asset-service': 2, 'ops-api': 2 };

type Labels = Record<string, string>;
interface Metadata {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Probe {
  httpGet?: { path?: string; port: number | string };
  exec?: { command: string[] };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { resource: string };
  };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; capabilities?: { drop?: string[] }; seccompProfile?: { type: string } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  volumes?: { name: string; configMap?: { name: string }; emptyDir?: object; persistentVolumeClaim?: { claimName: string } }[];
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    serviceName?: string;
    selector: { matchLabels: Labels };
    template: { metadata: { labels: Labels; annotations?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}
interface ServiceObject extends K8sObject {
  spec: { selector?: Labels; clusterIP?: string; publishNotReadyAddresses?: boolean; ports: { name?: string; port: number; targetPort?: number | string }[] };
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/** Reads a kustomization the way kustomize does for plain resources: files, and folders with their own kustomization. */
function build(dir: string): { objects: K8sObject[]; files: string[]; kustomizations: Map<string, Kustomization> } {
  const kustomizations = new Map<string, Kustomization>();
  const files: string[] = [];
  const objects: K8sObject[] = [];
  const visit = (folder: string) => {
    const k = parse(readRepoFile(`${folder}/kustomization.yaml`)) as Kustomization;
    kustomizations.set(folder, k);
    for (const resource of k.resources ?? []) {
      const path = `${folder}/${resource}`;
      assert.ok(existsSync(join(repoRoot, path)), `${folder}/kustomization.yaml lists ${resource}, which does not exist`);
      if (statSync(join(repoRoot, path)).isDirectory()) visit(path);
      else {
        files.push(path);
        for (const doc of parseAllDocuments(readRepoFile(path))) {
          assert.deepEqual(doc.errors, [], `${path}: ${doc.errors.join('; ')}`);
          const object = doc.toJS() as K8sObject | null;
          if (object) objects.push(object);
        }
      }
    }
  };
  visit(dir);
  return { objects, files, kustomizations };
}

const tree = build(K8S);
const root = tree.kustomizations.get(K8S)!;
const objects = tree.objects;
const secrets = parseAllDocuments(readRepoFile(SECRETS_TEMPLATE))
  .map((d) => d.toJS() as K8sObject)
  .filter(Boolean);
const find = <T extends K8sObject>(kind: string, name: string): T | undefined => objects.find((o) => o.kind === kind && o.metadata?.name === name) as T | undefined;
const matches = (selector: Labels | undefined, labels: Labels | undefined): boolean => !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function deployment(app: App): Workload {
  const d = find<Workload>('Deployment', app.name);
  assert.ok(d, `${K8S} has no Deployment "${app.name}"`);
  return d;
}
function mainContainer(app: App): Container {
  const containers = deployment(app).spec.template.spec.containers;
  const c = containers.find((x) => x.command?.join(' ').includes(`apps/${app.name}/dist/main.js`)) ?? containers[0]!;
  return c;
}
const plausibleField = (app: App, fieldPath: string): string =>
  ({ 'metadata.name': `${app.name}-6d9f7c8b5-x2k7p`, 'metadata.namespace': root.namespace ?? 'default', 'status.podIP': '10.42.0.17', 'spec.nodeName': 'node-1' })[fieldPath] ??
  assert.fail(`${app.name}: no plausible value for fieldRef ${fieldPath}`);

function stringsOf(o: K8sObject): Record<string, string> {
  const decoded = Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, o.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : String(v)]));
  return { ...decoded, ...Object.fromEntries(Object.entries(o.stringData ?? {}).map(([k, v]) => [k, String(v)])) };
}
function source(kind: 'ConfigMap' | 'Secret', name: string, optional: boolean | undefined, who: string): Record<string, string> {
  const o = kind === 'ConfigMap' ? find(kind, name) : secrets.find((s) => s.kind === 'Secret' && s.metadata.name === name);
  if (!o && optional) return {};
  assert.ok(o, `${who} reads ${kind} "${name}", which is not in ${kind === 'ConfigMap' ? K8S : SECRETS_TEMPLATE}`);
  return stringsOf(o);
}

/** The environment a container sees: envFrom in order, then env (which wins); duplicates are reported. */
function resolveEnv(app: App, c: Container): { env: Record<string, string>; duplicates: string[] } {
  const env: Record<string, string> = {};
  const from: Record<string, string> = {};
  const duplicates: string[] = [];
  const set = (key: string, value: string, origin: string) => {
    if (key in env) duplicates.push(`${key} (${from[key]} and ${origin})`);
    env[key] = value;
    from[key] = origin;
  };
  for (const f of c.envFrom ?? []) {
    const [kind, ref] = f.configMapRef ? (['ConfigMap', f.configMapRef] as const) : (['Secret', f.secretRef!] as const);
    for (const [k, v] of Object.entries(source(kind, ref.name, ref.optional, app.name))) set(`${f.prefix ?? ''}${k}`, v, `${kind} ${ref.name}`);
  }
  for (const e of c.env ?? []) {
    const vf = e.valueFrom;
    let value: string | undefined;
    if (e.value !== undefined) value = String(e.value);
    else if (vf?.configMapKeyRef) value = source('ConfigMap', vf.configMapKeyRef.name, vf.configMapKeyRef.optional, app.name)[vf.configMapKeyRef.key];
    else if (vf?.secretKeyRef) value = source('Secret', vf.secretKeyRef.name, vf.secretKeyRef.optional, app.name)[vf.secretKeyRef.key];
    else if (vf?.fieldRef) value = plausibleField(app, vf.fieldRef.fieldPath);
    else if (vf?.resourceFieldRef) value = '1';
    else value = '';
    const optional = vf?.configMapKeyRef?.optional || vf?.secretKeyRef?.optional;
    assert.ok(value !== undefined || optional, `${app.name}: ${e.name} refers to a key that does not exist`);
    if (value !== undefined) set(e.name, value, 'env');
  }
  return { env, duplicates };
}
const envOf = (app: App) => resolveEnv(app, mainContainer(app)).env;
const configOf = (app: App) => loadConfig(app.spec, envOf(app)) as Record<string, unknown>;

const portNumber = (c: Container, port: number | string): number =>
  typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : (c.ports?.find((p) => p.name === port)?.containerPort ?? assert.fail(`${c.name}: no container port named "${port}"`));

function preStopSeconds(c: Container): number {
  const preStop = c.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const cmd = preStop?.exec?.command ?? [];
  const sleep = /(?:^|\s)sleep\s+(\d+(?:\.\d+)?)/.exec(cmd.join(' '));
  return sleep ? Number(sleep[1]) : 0;
}

/** The Pod Security "restricted" essentials, for one pod. */
function checkRestricted(who: string, pod: PodSpec) {
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const sc = c.securityContext ?? {};
    assert.equal(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, true, `${who}/${c.name}: runAsNonRoot`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${who}/${c.name}: allowPrivilegeEscalation must be false`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${who}/${c.name}: readOnlyRootFilesystem`);
    assert.ok(sc.capabilities?.drop?.includes('ALL'), `${who}/${c.name}: drop ALL capabilities`);
    assert.equal((sc.seccompProfile ?? pod.securityContext?.seccompProfile)?.type, 'RuntimeDefault', `${who}/${c.name}: seccompProfile RuntimeDefault`);
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${who}/${c.name}: cpu and memory requests`);
    assert.ok(c.resources?.limits?.memory, `${who}/${c.name}: a memory limit`);
  }
}

describe('infra/k8s (Kustomize)', () => {
  it('lists every manifest in its folder, keeps the Secret template out, and creates its namespace', () => {
    const walk = (dir: string): string[] => readdirSync(join(repoRoot, dir)).flatMap((name) => (statSync(join(repoRoot, dir, name)).isDirectory() ? walk(`${dir}/${name}`) : [`${dir}/${name}`]));
    const manifests = walk(K8S).filter((f) => /\.ya?ml$/.test(f) && !/\/kustomization\.ya?ml$/.test(f) && !/\.example\.ya?ml$/.test(f));
    const unlisted = manifests.filter((f) => !tree.files.includes(f));
    assert.deepEqual(unlisted, [], `manifests no kustomization lists: ${unlisted.join(', ')}`);
    assert.ok(!tree.files.includes(SECRETS_TEMPLATE), 'the Secret template must not be applied: it would overwrite the real Secrets with placeholders');
    assert.ok(root.namespace, 'the kustomization sets no namespace');
    const ns = find('Namespace', root.namespace);
    assert.ok(ns, `no Namespace ${root.namespace}`);
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  it('marks every Secret template value as a placeholder', () => {
    assert.ok(secrets.length > 0, `${SECRETS_TEMPLATE} holds no Secret`);
    for (const s of secrets) for (const [key, value] of Object.entries(stringsOf(s))) assert.match(value, /CHANGE-ME/, `${s.metadata.name}.${key} is not clearly a placeholder`);
  });

  it('runs every tidemark container from the image the kustomization sets', () => {
    const images = new Set((root.images ?? []).map((i) => i.name));
    for (const app of APPS) {
      const pod = deployment(app).spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) assert.ok(images.has(c.image), `${app.name}/${c.name}: image ${c.image} is not one the kustomization's images: sets`);
      assert.deepEqual(mainContainer(app).command, ['node', `apps/${app.name}/dist/main.js`], `${app.name}: command`);
    }
  });

  for (const app of APPS) {
    describe(app.name, () => {
      it(`runs ${REPLICAS[app.name]} replicas with a disruption budget that still lets nodes drain`, () => {
        const d = deployment(app);
        assert.equal(d.spec.replicas, REPLICAS[app.name], `${app.name}: replicas`);
        assert.ok(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${app.name}: the selector does not match the pod labels`);
        const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && matches((o.spec?.selector as { matchLabels?: Labels })?.matchLabels, d.spec.template.metadata.labels));
        assert.ok(pdb, `${app.name}: no PodDisruptionBudget selects its pods`);
        const { minAvailable, maxUnavailable } = pdb.spec as { minAvailable?: number; maxUnavailable?: number };
        if (minAvailable !== undefined) assert.ok(minAvailable < d.spec.replicas!, `${app.name}: minAvailable ${minAvailable} blocks every eviction`);
        else assert.ok((maxUnavailable ?? 0) >= 1, `${app.name}: maxUnavailable must be at least 1`);
      });

      it('receives only variables its config schema declares, each from one place', () => {
        const { env, duplicates } = resolveEnv(app, mainContainer(app));
        const known = new Set(variablesOf(app.spec));
        const unknown = Object.keys(env).filter((key) => !known.has(key));
        assert.deepEqual(unknown, [], `${app.name} does not read ${unknown.join(', ')} (a typo, or a ConfigMap/Secret meant for another service)`);
        assert.deepEqual(duplicates, [], `${app.name}: set more than once`);
      });

      it('sets every required variable that has no default', () => {
        const env = envOf(app);
        const missing = mustSet(app.spec).filter((key) => !env[key]);
        assert.deepEqual(missing, [], `${app.name} needs ${missing.join(', ')}`);
      });

      it("passes the app's own config loader, listening on 0.0.0.0", () => {
        assert.equal(configOf(app).HTTP_HOST, '0.0.0.0', 'HTTP_HOST must be 0.0.0.0 in a pod');
      });

      it('exposes HTTP_PORT as the container port, the Service target and the scrape port', () => {
        const port = configOf(app).HTTP_PORT as number;
        const c = mainContainer(app);
        assert.ok(
          c.ports?.some((p) => p.containerPort === port),
          `${app.name} listens on ${port} but declares ${c.ports?.map((p) => p.containerPort).join(', ')}`,
        );
        const d = deployment(app);
        const svc = objects.find((o) => o.kind === 'Service' && matches((o as ServiceObject).spec.selector, d.spec.template.metadata.labels)) as ServiceObject | undefined;
        assert.ok(svc, `${app.name}: no Service selects its pods`);
        assert.equal(svc.metadata.name, app.name, 'the Service is named after the app (other services reach it by that name)');
        assert.ok(
          svc.spec.ports.some((p) => portNumber(c, p.targetPort ?? p.port) === port),
          `${app.name}: the Service targets no port ${port}`,
        );
        const annotations = d.spec.template.metadata.annotations ?? {};
        assert.equal(annotations['prometheus.io/scrape'], 'true', `${app.name}: prometheus.io/scrape`);
        assert.equal(annotations['prometheus.io/port'], String(port), `${app.name}: prometheus.io/port`);
        assert.equal(annotations['prometheus.io/path'] ?? '/metrics', '/metrics', `${app.name}: prometheus.io/path`);
      });

      it('is probed on HTTP_PORT: liveness /healthz, readiness /readyz', () => {
        const port = configOf(app).HTTP_PORT as number;
        const c = mainContainer(app);
        const probes = { startupProbe: '/healthz', livenessProbe: '/healthz', readinessProbe: '/readyz' } as const;
        for (const [kind, path] of Object.entries(probes) as [keyof typeof probes, string][]) {
          const probe = c[kind];
          if (kind === 'startupProbe' && !probe) continue;
          assert.ok(probe?.httpGet, `${app.name}: no HTTP ${kind}`);
          assert.equal(probe.httpGet.path, path, `${app.name}: ${kind} path`);
          assert.equal(portNumber(c, probe.httpGet.port), port, `${app.name}: ${kind} port`);
        }
      });

      it('gets a termination grace period longer than preStop plus SHUTDOWN_TIMEOUT_MS', () => {
        const shutdownS = (configOf(app).SHUTDOWN_TIMEOUT_MS as number) / 1000;
        const grace = deployment(app).spec.template.spec.terminationGracePeriodSeconds ?? 30;
        const preStop = preStopSeconds(mainContainer(app));
        assert.ok(grace > preStop + shutdownS, `${app.name}: terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} s + SHUTDOWN_TIMEOUT_MS ${shutdownS} s`);
      });

      it('runs non-root, read-only, without privileges, with resource requests and limits', () => {
        checkRestricted(app.name, deployment(app).spec.template.spec);
      });

      if (app.name !== TOPOLOGY_OWNER) {
        it('starts after journal-service is ready (it declares the streams)', () => {
          const pod = deployment(app).spec.template.spec;
          const owner = APPS.find((a) => a.name === TOPOLOGY_OWNER)!;
          const waits = (pod.initContainers ?? []).map((c) => urlIn([...(c.command ?? []), ...(c.args ?? [])].join(' '))).filter((u): u is URL => !!u && u.pathname === '/readyz');
          assert.ok(waits.length > 0, `${app.name}: no init container waits for ${TOPOLOGY_OWNER}'s /readyz`);
          const url = waits[0]!;
          const svc = find<ServiceObject>('Service', url.hostname.split('.')[0]!);
          assert.ok(svc && svc.metadata.name === TOPOLOGY_OWNER, `${app.name} waits on ${url.hostname}, which is not the ${TOPOLOGY_OWNER} Service`);
          const target = svc.spec.ports.find((p) => p.port === portOf(url));
          assert.ok(target, `${app.name} waits on port ${portOf(url)}, which the ${TOPOLOGY_OWNER} Service does not expose`);
          assert.equal(portNumber(mainContainer(owner), target.targetPort ?? target.port), configOf(owner).HTTP_PORT, `${TOPOLOGY_OWNER} Service port ${target.port} does not reach its HTTP_PORT`);
        });
      }
    });
  }

  it('gives every workload it renders (not only the five services) probes, resources and the restricted security context', () => {
    const workloads = objects.filter((o): o is Workload => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
    assert.ok(workloads.length >= APPS.length + 1, `only ${workloads.length} workloads`);
    for (const w of workloads) {
      checkRestricted(`${w.kind} ${w.metadata.name}`, w.spec.template.spec);
      for (const c of w.spec.template.spec.containers) for (const probe of ['livenessProbe', 'readinessProbe'] as const) assert.ok(c[probe], `${w.metadata.name}/${c.name}: no ${probe}`);
    }
  });

  it('autoscales the gateway from its configured replica count', () => {
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && (o.spec?.scaleTargetRef as { kind: string; name: string } | undefined)?.name === 'gateway');
    assert.ok(hpa, 'no HorizontalPodAutoscaler for the gateway');
    const spec = hpa.spec as { scaleTargetRef: { kind: string }; minReplicas: number; maxReplicas: number };
    assert.equal(spec.scaleTargetRef.kind, 'Deployment');
    assert.equal(spec.minReplicas, REPLICAS.gateway);
    assert.ok(spec.maxReplicas > spec.minReplicas);
  });

  it('gives every service that verifies tokens the same signing keys, from a Secret', () => {
    const verifying = APPS.filter((app) => variablesOf(app.spec).includes('AUTH_SIGNING_KEYS'));
    assert.ok(verifying.length > 0);
    for (const app of verifying) {
      const c = mainContainer(app);
      const fromSecret =
        (c.envFrom ?? []).some((f) => f.secretRef && 'AUTH_SIGNING_KEYS' in source('Secret', f.secretRef.name, f.secretRef.optional, app.name)) ||
        (c.env ?? []).some((e) => e.name === 'AUTH_SIGNING_KEYS' && e.valueFrom?.secretKeyRef);
      assert.ok(fromSecret, `${app.name}: AUTH_SIGNING_KEYS must come from a Secret, not a ConfigMap or a literal`);
    }
    const keys = new Set(verifying.map((app) => configOf(app).AUTH_SIGNING_KEYS));
    assert.equal(keys.size, 1, 'every service verifies with the same keys');
  });

  it('gives every service the same journal settings (partitions are part of every subject)', () => {
    const natsApps = APPS.filter((app) => app.usesNats);
    for (const key of ['NATS_URL', 'JOURNAL_PARTITIONS', 'JOURNAL_DUPLICATE_WINDOW_MS', 'JOURNAL_REPLICAS']) {
      const values = new Map(natsApps.map((app) => [app.name, configOf(app)[key]]));
      assert.equal(new Set(values.values()).size, 1, `${key} differs between services: ${JSON.stringify(Object.fromEntries(values))}`);
    }
  });

  describe('nats (3-node JetStream cluster)', () => {
    const sts = objects.find((o) => o.kind === 'StatefulSet' && o.spec && (o as Workload).spec.template.spec.containers.some((c) => /^nats(:|@|$)/.test(c.image))) as Workload | undefined;
    const container = sts?.spec.template.spec.containers.find((c) => /^nats(:|@|$)/.test(c.image));
    const args = [...(container?.command ?? []), ...(container?.args ?? [])];
    const confFlag = args.findIndex((a) => a === '-c' || a === '--config');
    const confPath = args[confFlag + 1] ?? '';
    const confMount = container?.volumeMounts?.find((m) => confPath.startsWith(m.mountPath.replace(/\/?$/, '/')));
    const confVolume = sts?.spec.template.spec.volumes?.find((v) => v.name === confMount?.name);
    const confMap = confVolume?.configMap ? find('ConfigMap', confVolume.configMap.name) : undefined;
    const confText = confMap?.data?.[confPath.slice(confMount!.mountPath.replace(/\/?$/, '/').length)];
    const conf: NatsConf = confText ? parseNatsConf(confText) : {};

    it('runs NATS 2.11 or later from a configuration file in a ConfigMap', () => {
      assert.ok(sts && container, 'no NATS StatefulSet');
      const version = /^nats:(\d+)\.(\d+)/.exec(container.image);
      assert.ok(version && (Number(version[1]) > 2 || Number(version[2]) >= 11), `nats image ${container.image}: 2.11+`);
      assert.ok(confFlag >= 0, 'nats-server is started without --config');
      assert.ok(confText, `the configuration ${confPath} does not come from a ConfigMap in the tree`);
    });

    it('fsyncs before acknowledging (sync_interval: always), with the store on a PersistentVolume', () => {
      const jetstream = natsBlock(conf, 'jetstream');
      assert.ok(jetstream, 'JetStream is not enabled');
      assert.equal(jetstream.sync_interval, 'always', 'jetstream.sync_interval must be always');
      const store = jetstream.store_dir as string | undefined;
      assert.ok(store, 'no jetstream.store_dir');
      const mount = container!.volumeMounts?.find((m) => m.mountPath === store);
      assert.ok(mount && sts!.spec.volumeClaimTemplates?.some((t) => t.metadata.name === mount.name), `the JetStream store ${store} is not on a volumeClaimTemplate`);
    });

    it('forms one cluster of its replicas through the headless Service, with R3 journal streams', () => {
      const replicas = sts!.spec.replicas ?? 1;
      assert.equal(replicas, 3);
      const cluster = natsBlock(conf, 'cluster');
      assert.ok(cluster, 'no cluster block');
      const routes = (cluster.routes as string[] | undefined) ?? [];
      const headless = find<ServiceObject>('Service', sts!.spec.serviceName ?? '');
      assert.ok(headless && headless.spec.clusterIP === 'None', `serviceName ${sts!.spec.serviceName} is not a headless Service`);
      assert.equal(headless.spec.publishNotReadyAddresses, true, 'the headless Service must publish not-ready pods, or the nodes cannot find each other to become ready');
      const expected = Array.from({ length: replicas }, (_, i) => `${sts!.metadata.name}-${i}.${headless.metadata.name}`);
      assert.deepEqual(routes.map((r) => new URL(r).hostname.split('.').slice(0, 2).join('.')).sort(), expected.sort(), 'cluster routes must name every replica');
      for (const r of routes) assert.equal(portOf(new URL(r)), Number(cluster.port ?? 6222), `route ${r} port`);
      assert.ok(String(conf.server_name ?? '').startsWith('$'), 'server_name must differ per node (from the pod name)');
      for (const app of APPS.filter((a) => a.usesNats)) {
        const r = configOf(app).JOURNAL_REPLICAS as number;
        assert.equal(r, 3, `${app.name}: JOURNAL_REPLICAS should be 3 on the 3-node cluster`);
        assert.ok(r <= replicas);
      }
    });

    it('is what NATS_URL names, and is probed on its monitoring port', () => {
      const pods = sts!.spec.template.metadata.labels;
      for (const app of APPS.filter((a) => a.usesNats)) {
        const url = new URL(String(configOf(app).NATS_URL).split(',')[0]!);
        const svc = find<ServiceObject>('Service', url.hostname.split('.')[0]!);
        assert.ok(svc && matches(svc.spec.selector, pods), `${app.name}: NATS_URL host ${url.hostname} is not a Service selecting the NATS pods`);
        const port = svc.spec.ports.find((p) => p.port === portOf(url));
        assert.ok(port, `${app.name}: the ${svc.metadata.name} Service has no port ${portOf(url)}`);
        assert.equal(portNumber(container!, port.targetPort ?? port.port), Number(conf.port ?? 4222), `${app.name}: NATS_URL does not reach the client port`);
      }
      const monitor = Number(String(conf.http_port ?? conf.http ?? '').replace(/^.*:/, ''));
      for (const kind of ['livenessProbe', 'readinessProbe'] as const) {
        const probe = container![kind]?.httpGet;
        assert.ok(probe, `nats: no HTTP ${kind}`);
        assert.equal(portNumber(container!, probe.port), monitor, `nats: ${kind} port is not the monitoring port`);
        assert.match(probe.path ?? '', /^\/healthz/);
      }
    });

    it('lets in only the services, each as its own NKey user, with the public keys from the tidemark-nats-users Secret', () => {
      const variables = [...(confText ?? '').matchAll(/nkey:\s*\$([A-Z0-9_]+)/g)].map((m) => m[1]!).sort();
      const expected = APPS.filter((a) => a.usesNats)
        .map((a) => `${a.name.toUpperCase().replace(/-/g, '_')}_NKEY`)
        .sort();
      assert.deepEqual(variables, expected, 'nats.conf authorization: one nkey user per service');
      const users = container!.envFrom?.find((f) => f.secretRef?.name === 'tidemark-nats-users');
      assert.ok(users, 'the NATS container does not read the tidemark-nats-users Secret');
      assert.deepEqual(Object.keys(source('Secret', 'tidemark-nats-users', false, 'nats')).sort(), expected, 'tidemark-nats-users keys');
      for (const app of APPS.filter((a) => a.usesNats)) {
        const credsFile = String(configOf(app).NATS_CREDS_FILE ?? '');
        assert.ok(credsFile, `${app.name}: no NATS_CREDS_FILE`);
        const pod = deployment(app).spec.template.spec;
        const mount = mainContainer(app).volumeMounts?.find((m) => credsFile.startsWith(m.mountPath.replace(/\/?$/, '/')));
        const volume = pod.volumes?.find((v) => v.name === mount?.name) as { secret?: { secretName: string; defaultMode?: number } } | undefined;
        assert.equal(volume?.secret?.secretName, `tidemark-nats-${app.name}`, `${app.name}: NATS_CREDS_FILE is not its own seed Secret`);
        const key = credsFile.slice(mount!.mountPath.replace(/\/?$/, '/').length);
        assert.ok(key in source('Secret', `tidemark-nats-${app.name}`, false, app.name), `${app.name}: the Secret has no key ${key}`);
        assert.ok(((volume!.secret!.defaultMode ?? 0o644) & 0o007) === 0, `${app.name}: the seed must not be world-readable`);
      }
    });

    it('takes client connections over TLS only, with the nats-tls certificate the services trust the CA of', () => {
      const tls = natsBlock(conf, 'tls');
      assert.ok(tls, 'nats.conf has no tls block');
      const mountOf = (c: Container, pod: PodSpec, file: string) => {
        const mount = c.volumeMounts?.find((m) => file.startsWith(m.mountPath.replace(/\/?$/, '/')));
        const volume = pod.volumes?.find((v) => v.name === mount?.name) as { secret?: { secretName: string; items?: { key: string; path: string }[] } } | undefined;
        return { secret: volume?.secret?.secretName, key: file.slice((mount?.mountPath.replace(/\/?$/, '/') ?? '').length), items: volume?.secret?.items };
      };
      for (const [field, key] of [
        ['cert_file', 'tls.crt'],
        ['key_file', 'tls.key'],
      ] as const) {
        const m = mountOf(container!, sts!.spec.template.spec, String(tls[field] ?? ''));
        assert.deepEqual([m.secret, m.key], ['nats-tls', key], `nats.conf tls.${field} is not ${key} of the nats-tls Secret`);
      }
      assert.equal(natsBlock(conf, 'cluster')?.no_advertise, 'true', 'clients must stay on the Service name the certificate holds (cluster no_advertise)');
      for (const app of APPS.filter((a) => a.usesNats)) {
        const config = configOf(app);
        for (const u of String(config.NATS_URL).split(',')) assert.match(u.trim(), /^tls:\/\//, `${app.name}: NATS_URL must be tls://`);
        const ca = mountOf(mainContainer(app), deployment(app).spec.template.spec, String(config.NODE_EXTRA_CA_CERTS ?? ''));
        const key = ca.items?.find((i) => i.path === ca.key)?.key ?? ca.key;
        assert.deepEqual([ca.secret, key], ['nats-tls', 'ca.crt'], `${app.name}: NODE_EXTRA_CA_CERTS is not ca.crt of the nats-tls Secret`);
      }
    });

    it('runs non-root and read-only, and keeps a quorum through disruptions', () => {
      checkRestricted('nats', sts!.spec.template.spec);
      const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && matches((o.spec?.selector as { matchLabels?: Labels })?.matchLabels, sts!.spec.template.metadata.labels));
      assert.ok(pdb, 'no PodDisruptionBudget for NATS');
      const { minAvailable, maxUnavailable } = pdb.spec as { minAvailable?: number; maxUnavailable?: number };
      assert.ok(maxUnavailable === 1 || minAvailable === 2, 'R3 keeps a quorum with one node down, not two');
      const grace = sts!.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      const lameDuck = /^(\d+)s$/.exec(String(conf.lame_duck_duration ?? '0s'));
      assert.ok(!lameDuck || grace > Number(lameDuck[1]), `terminationGracePeriodSeconds ${grace} must exceed lame_duck_duration`);
    });
  });
});

// Every object the kustomization renders, and the Secret template, against the Kubernetes OpenAPI schemas.
describe('infra/k8s against the Kubernetes schemas (kubernetes-models)', () => {
  type Model = new (data: unknown) => { validate(): void };
  /** kubernetes-models has one module per API group and version: `v1` (core), `apps/v1`, `networking.k8s.io/v1`, ... */
  const modelOf = async (o: K8sObject): Promise<Model | undefined> => {
    const module = (await import(`kubernetes-models/${o.apiVersion}`).catch(() => ({}))) as Record<string, Model | undefined>;
    return module[o.kind];
  };

  it('renders only kinds the schemas know, and each object is valid', async () => {
    const rendered = [...objects, ...secrets];
    assert.ok(rendered.length > 20, `only ${rendered.length} objects rendered`);
    const failures: string[] = [];
    for (const o of rendered) {
      const Model = await modelOf(o);
      if (!Model) {
        failures.push(`${o.apiVersion} ${o.kind} ${o.metadata?.name}: no schema (a typo in apiVersion or kind, or an API this Kubernetes no longer serves)`);
        continue;
      }
      try {
        new Model(o).validate();
      } catch (error) {
        failures.push(`${o.kind} ${o.metadata?.name}: ${(error as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('rejects what the API server would reject (the check is not vacuous)', async () => {
    const gateway = find<Workload>('Deployment', 'gateway')!;
    const broken = structuredClone(gateway);
    (broken.spec.template.spec.containers[0]!.ports![0] as { containerPort: unknown }).containerPort = '3001';
    const DeploymentModel = (await modelOf(gateway))!;
    assert.throws(() => new DeploymentModel(broken).validate(), /containerPort/);
    const policy = find('NetworkPolicy', 'gateway')!;
    const wrongPort = structuredClone(policy) as NetworkPolicyObject;
    wrongPort.spec.ingress![0]!.ports![0]!.protocol = 'TPC';
    const PolicyModel = (await modelOf(policy))!;
    assert.throws(() => new PolicyModel(wrongPort).validate(), /protocol/);
  });
});

interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: { cidr: string };
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { protocol?: string; port?: number | string }[];
}
interface NetworkPolicyObject extends K8sObject {
  spec: { podSelector: { matchLabels?: Labels }; policyTypes?: ('Ingress' | 'Egress')[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

// NetworkPolicies, evaluated as a CNI would for the pods of this tree: a pod's allowed peers in a direction
// are the union of the rules of every policy selecting it for that direction. Peers outside the namespace
// are compared by their selectors; peers inside by the workloads whose pods they select.
describe('infra/k8s NetworkPolicies', () => {
  const INGRESS_CONTROLLER = 'namespace{"kubernetes.io/metadata.name":"ingress-nginx"}';
  const PROMETHEUS = 'namespace{} pod{"app.kubernetes.io/name":"prometheus"}';
  const DNS = ['UDP', 'TCP'].map((p) => `namespace{"kubernetes.io/metadata.name":"kube-system"} pod{"k8s-app":"kube-dns"} ${p}/53`);
  /** Reached through the ingress controller (ops-api privately, but through it all the same). */
  const EXPOSED = new Set(['gateway', 'asset-service', 'ops-api']);

  const policies = objects.filter((o): o is NetworkPolicyObject => o.kind === 'NetworkPolicy');
  const workloads = objects.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  const selects = (selector: { matchLabels?: Labels } | undefined, labels: Labels): boolean => !!selector && Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const labelsOf = (w: Workload): Labels => w.spec.template.metadata.labels;

  function peer(p: PolicyPeer, where: string): string[] {
    if (p.ipBlock) return [`ipBlock ${p.ipBlock.cidr}`];
    if (p.namespaceSelector) return [`namespace${JSON.stringify(p.namespaceSelector.matchLabels ?? {})}${p.podSelector ? ` pod${JSON.stringify(p.podSelector.matchLabels ?? {})}` : ''}`];
    const pods = workloads.filter((w) => selects(p.podSelector, labelsOf(w))).map((w) => w.metadata.name);
    assert.ok(pods.length > 0, `${where}: the peer ${JSON.stringify(p)} selects no pod of this namespace`);
    return pods;
  }
  function allowed(w: Workload, direction: 'Ingress' | 'Egress'): string[] {
    const out = new Set<string>();
    for (const np of policies) {
      const types = np.spec.policyTypes ?? (np.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
      if (!types.includes(direction) || !selects(np.spec.podSelector, labelsOf(w))) continue;
      for (const rule of (direction === 'Ingress' ? np.spec.ingress : np.spec.egress) ?? []) {
        const peers = rule[direction === 'Ingress' ? 'from' : 'to'];
        const names = peers === undefined || peers.length === 0 ? ['anywhere'] : peers.flatMap((p) => peer(p, np.metadata.name));
        const ports = (rule.ports ?? [{}]).map((p) => (p.port === undefined ? 'all ports' : `${p.protocol ?? 'TCP'}/${p.port}`));
        for (const n of names) for (const p of ports) out.add(`${n} ${p}`);
      }
    }
    return [...out].sort();
  }
  const workload = (name: string) => workloads.find((w) => w.metadata.name === name) ?? assert.fail(`no workload ${name}`);

  /** The workload and container port behind a Service URL of this namespace. */
  function behind(url: URL, who: string): { name: string; port: number } {
    const svc = find<ServiceObject>('Service', url.hostname.split('.')[0]!);
    assert.ok(svc, `${who}: ${url.host} is not a Service in ${K8S}`);
    const w = workloads.find((x) => matches(svc.spec.selector, labelsOf(x)));
    assert.ok(w, `${who}: the ${svc.metadata.name} Service selects no workload`);
    const sp = svc.spec.ports.find((p) => p.port === portOf(url)) ?? assert.fail(`${who}: the ${svc.metadata.name} Service has no port ${portOf(url)}`);
    return { name: w.metadata.name, port: portNumber(w.spec.template.spec.containers[0]!, sp.targetPort ?? sp.port) };
  }
  /** Where an app connects, from its configuration and its init containers: the peers its pods need. */
  function reaches(app: App): { inCluster: { name: string; port: number }[]; outside: string[] } {
    const config = configOf(app);
    const inCluster: { name: string; port: number }[] = [];
    const outside: string[] = [];
    if (app.usesNats) for (const s of String(config.NATS_URL).split(',')) inCluster.push(behind(new URL(s.trim()), app.name));
    if (app.usesPostgres) outside.push(`anywhere TCP/${portOf(new URL(String(config.DATABASE_URL)))}`);
    if (app.usesS3) outside.push(`anywhere TCP/${portOf(new URL(String(config.S3_ENDPOINT)))}`);
    for (const c of deployment(app).spec.template.spec.initContainers ?? []) {
      const url = urlIn([...(c.command ?? []), ...(c.args ?? [])].join(' '));
      if (url) inCluster.push(behind(url, `${app.name}/${c.name}`));
    }
    for (const entry of String(config.SERVICE_URLS ?? '')
      .split(',')
      .filter(Boolean))
      inCluster.push(behind(new URL(entry.slice(entry.indexOf('=') + 1)), app.name));
    return { inCluster, outside };
  }
  const uniqueSorted = (xs: string[]) => [...new Set(xs)].sort();

  it('denies all ingress and egress in the namespace unless a policy allows it, and lets every pod resolve names', () => {
    const deny = policies.find((p) => Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 && !p.spec.ingress?.length && !p.spec.egress?.length);
    assert.ok(deny, 'no default-deny NetworkPolicy (empty podSelector, no rules)');
    assert.deepEqual([...(deny.spec.policyTypes ?? [])].sort(), ['Egress', 'Ingress']);
    for (const w of workloads) for (const d of DNS) assert.ok(allowed(w, 'Egress').includes(d), `${w.metadata.name}: no DNS egress (${d})`);
  });

  for (const app of APPS) {
    it(`${app.name}: egress to exactly what its configuration names (NATS, Postgres, S3, Services it calls), plus DNS`, () => {
      const { inCluster, outside } = reaches(app);
      const expected = uniqueSorted([...DNS, ...outside, ...inCluster.map((t) => `${t.name} TCP/${t.port}`)]);
      assert.deepEqual(allowed(deployment(app), 'Egress'), expected);
    });

    it(`${app.name}: ingress from exactly its callers, Prometheus${EXPOSED.has(app.name) ? ' and the ingress controller' : ''}, on HTTP_PORT`, () => {
      const port = Number(configOf(app).HTTP_PORT);
      const callers = APPS.filter((a) => reaches(a).inCluster.some((t) => t.name === app.name)).map((a) => `${a.name} TCP/${port}`);
      const expected = uniqueSorted([`${PROMETHEUS} TCP/${port}`, ...(EXPOSED.has(app.name) ? [`${INGRESS_CONTROLLER} TCP/${port}`] : []), ...callers]);
      assert.deepEqual(allowed(deployment(app), 'Ingress'), expected);
    });
  }

  it('nats: clients from the services that use it, routes between its nodes, Prometheus on the monitoring port', () => {
    const nats = workload('nats');
    // The ports by name; the nats suite above checks they are the configuration's client, route and monitoring ports.
    const [client, cluster, monitor] = ['client', 'cluster', 'monitor'].map((name) => portNumber(nats.spec.template.spec.containers[0]!, name));
    const clients = APPS.filter((a) => reaches(a).inCluster.some((t) => t.name === 'nats' && t.port === client)).map((a) => `${a.name} TCP/${client}`);
    assert.equal(clients.length, APPS.filter((a) => a.usesNats).length);
    assert.deepEqual(allowed(nats, 'Ingress'), uniqueSorted([...clients, `nats TCP/${cluster}`, `${PROMETHEUS} TCP/${monitor}`]));
    assert.deepEqual(allowed(nats, 'Egress'), uniqueSorted([...DNS, `nats TCP/${cluster}`]));
  });

  it('selects every pod of the namespace with a policy of its own name', () => {
    for (const w of workloads) {
      const own = policies.find((p) => p.metadata.name === w.metadata.name);
      assert.ok(own && selects(own.spec.podSelector, labelsOf(w)) && Object.keys(own.spec.podSelector.matchLabels ?? {}).length > 0, `${w.metadata.name}: no NetworkPolicy of its own`);
    }
  });
});
