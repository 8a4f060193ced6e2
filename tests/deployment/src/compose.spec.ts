// docker-compose.yml, checked without Docker: each tidemark service's environment against the config
// schema its main.ts loads, ports and healthchecks against HTTP_PORT, start order, and the NATS, Postgres
// and MinIO settings the services rely on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@tidemark/config';
import { APPS, TOPOLOGY_OWNER, defaultOf, durationMs, interpolate, mustSet, natsBlock, parseNatsConf, portOf, readRepoFile, repoRoot, urlIn, variablesOf, type App } from './deployment';

type Env = Record<string, string>;
interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  healthcheck?: Healthcheck;
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { type?: string; source?: string; target: string })[];
  restart?: string;
  init?: boolean;
  stop_grace_period?: string;
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Values for `${VAR}` interpolations that have no default: what an operator would put in .env. The signing
 * key has none on purpose (compose refuses to start without it); this one is shaped like a real one.
 */
const PLAUSIBLE: Record<string, string> = { AUTH_SIGNING_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64url')}` };

const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = compose.services;
const service = (name: string): ComposeService => {
  const s = services[name];
  assert.ok(s, `docker-compose.yml has no service "${name}"`);
  return s;
};

/** A service's environment after compose interpolation (null values pass the host's value: none here). */
function envOf(name: string): Env {
  const raw = service(name).environment ?? {};
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((line) => {
        const at = line.indexOf('=');
        assert.ok(at > 0, `${name}: environment entry "${line}" is not KEY=VALUE`);
        return [line.slice(0, at), line.slice(at + 1)];
      })
    : Object.entries(raw).map(([key, value]) => {
        assert.ok(value !== null, `${name}: ${key} takes its value from the host environment; give it one in the file`);
        return [key, String(value)];
      });
  return Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value, PLAUSIBLE)]));
}

const commandText = (c: string | string[] | undefined): string => (Array.isArray(c) ? c.join(' ') : (c ?? ''));
const healthcheckText = (h: Healthcheck | undefined): string => {
  const test = h?.test;
  if (!test) return '';
  return Array.isArray(test) ? test.slice(1).join(' ') : test;
};

/** Container and published ports of a service. */
function portsOf(name: string): { target: number; published?: string }[] {
  return (service(name).ports ?? []).map((p) => {
    if (typeof p === 'object') return { target: Number(p.target), published: p.published === undefined ? undefined : String(p.published) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return { target: Number(parts.at(-1)), published: parts.length > 1 ? parts.at(-2) : undefined };
  });
}

function dependsOn(name: string): Record<string, string> {
  const d = service(name).depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((dep) => [dep, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([dep, v]) => [dep, v?.condition ?? 'service_started']));
}

/** The loaded config of one app from its compose environment (throws the app's own ConfigError). */
const configOf = (app: App) => loadConfig(app.spec, envOf(app.name)) as Record<string, unknown>;

describe('docker-compose.yml', () => {
  it('uses the compose specification (no version key) and declares the named volumes it mounts', () => {
    assert.equal(compose.version, undefined, 'drop the obsolete top-level version key');
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '');
        if (source && !/^[./~]/.test(source)) assert.ok(compose.volumes && source in compose.volumes, `${name} mounts volume "${source}", which is not declared under volumes`);
        if (/^\.\.?\//.test(source)) assert.ok(existsSync(join(repoRoot, source)), `${name} mounts ${source}, which does not exist in the repository`);
      }
    }
  });

  it('has every tidemark service, built from the repository Dockerfile and started with its own main.js', () => {
    for (const app of APPS) {
      const s = service(app.name);
      assert.deepEqual(s.command, ['node', `apps/${app.name}/dist/main.js`], `${app.name}: command`);
      const build = typeof s.build === 'string' ? { context: s.build } : s.build;
      assert.ok(build, `${app.name}: no build section (the image is built from this repository)`);
      assert.ok(existsSync(join(repoRoot, build.context ?? '.', build.dockerfile ?? 'Dockerfile')), `${app.name}: the Dockerfile it builds does not exist`);
      assert.equal(s.init, true, `${app.name}: run under an init (init: true) so signals and children are handled`);
      assert.match(s.restart ?? '', /^(always|unless-stopped|on-failure(:\d+)?)$/, `${app.name}: restart policy`);
    }
    const images = new Set(APPS.map((app) => service(app.name).image));
    assert.equal(images.size, 1, `the services should share one image, got ${[...images].join(', ')}`);
  });

  for (const app of APPS) {
    describe(app.name, () => {
      it('sets only variables its config schema declares', () => {
        const known = new Set(variablesOf(app.spec));
        const unknown = Object.keys(envOf(app.name)).filter((key) => !known.has(key));
        assert.deepEqual(unknown, [], `${app.name} does not read ${unknown.join(', ')} (a typo, or a variable of another service)`);
      });

      it('sets every required variable that has no default', () => {
        const env = envOf(app.name);
        const missing = mustSet(app.spec).filter((key) => !env[key]);
        assert.deepEqual(missing, [], `${app.name} needs ${missing.join(', ')}`);
      });

      it("passes the app's own config loader, listening on 0.0.0.0", () => {
        const config = configOf(app);
        assert.equal(config.HTTP_HOST, '0.0.0.0', 'HTTP_HOST must be 0.0.0.0 in a container, or nothing outside it can connect');
      });

      it('publishes HTTP_PORT, and its healthcheck asks that port for /readyz', () => {
        const port = configOf(app).HTTP_PORT as number;
        const ports = portsOf(app.name);
        assert.ok(
          ports.some((p) => p.target === port),
          `${app.name} listens on ${port} but maps container port(s) ${ports.map((p) => p.target).join(', ') || 'none'}`,
        );
        const health = service(app.name).healthcheck;
        assert.ok(health && !health.disable, `${app.name}: no healthcheck (the services after it wait for service_healthy)`);
        const url = urlIn(healthcheckText(health));
        assert.ok(url, `${app.name}: the healthcheck requests no URL`);
        assert.equal(url.pathname, '/readyz', `${app.name}: the healthcheck must ask /readyz (ready: its dependencies answer), not ${url.pathname}`);
        assert.equal(portOf(url), port, `${app.name}: the healthcheck asks port ${portOf(url)}, HTTP_PORT is ${port}`);
        assert.match(url.hostname, /^(127\.0\.0\.1|localhost)$/, `${app.name}: the healthcheck runs inside the container; ask 127.0.0.1`);
      });

      it('waits for what it uses, and for journal-service to declare the streams', () => {
        const deps = dependsOn(app.name);
        for (const dep of Object.keys(deps)) assert.ok(services[dep], `${app.name} depends on "${dep}", which is not a service`);
        const want: Record<string, string> = {};
        if (app.usesNats) want.nats = 'service_healthy';
        if (app.usesPostgres) want.postgres = 'service_healthy';
        if (app.usesS3) Object.assign(want, { minio: 'service_healthy', 'minio-init': 'service_completed_successfully' });
        if (app.name !== TOPOLOGY_OWNER) want[TOPOLOGY_OWNER] = 'service_healthy';
        for (const [dep, condition] of Object.entries(want)) assert.equal(deps[dep], condition, `${app.name} must wait for ${dep} (condition ${condition})`);
      });

      it('gets a stop grace period longer than its SHUTDOWN_TIMEOUT_MS', () => {
        const shutdownMs = configOf(app).SHUTDOWN_TIMEOUT_MS as number;
        const grace = service(app.name).stop_grace_period;
        assert.ok(grace, `${app.name}: no stop_grace_period (compose's default is 10 s; the drain may take ${shutdownMs} ms)`);
        assert.ok(durationMs(grace) > shutdownMs, `${app.name}: stop_grace_period ${grace} must exceed SHUTDOWN_TIMEOUT_MS ${shutdownMs}`);
      });
    });
  }

  it('has no dependency cycle and nothing waits on a one-shot job to be healthy', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      assert.ok(!visiting.has(name), `dependency cycle: ${[...path, name].join(' -> ')}`);
      if (done.has(name)) return;
      visiting.add(name);
      for (const [dep, condition] of Object.entries(dependsOn(name))) {
        if (condition === 'service_healthy') assert.ok(service(dep).healthcheck && !service(dep).healthcheck!.disable, `${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
        visit(dep, [...path, name]);
      }
      visiting.delete(name);
      done.add(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
  });

  it('takes the token signing key from the operator only (no default), the same in every service that verifies tokens', () => {
    const verifying = APPS.filter((app) => variablesOf(app.spec).includes('AUTH_SIGNING_KEYS'));
    assert.ok(verifying.length > 0);
    for (const app of verifying) {
      const raw = (service(app.name).environment as Record<string, string> | undefined)?.AUTH_SIGNING_KEYS;
      assert.ok(raw, `${app.name}: no AUTH_SIGNING_KEYS`);
      assert.throws(() => interpolate(raw, {}), /AUTH_SIGNING_KEYS/, `${app.name}: AUTH_SIGNING_KEYS must not fall back to a default key`);
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
    const replicas = configOf(natsApps[0]!).JOURNAL_REPLICAS as number;
    assert.equal(replicas, 1, 'compose runs one NATS node, so JOURNAL_REPLICAS must be 1');
  });

  describe('nats', () => {
    const nats = service('nats');
    const command = Array.isArray(nats.command) ? nats.command : commandText(nats.command).split(/\s+/);
    const confPath = command[command.findIndex((a) => a === '-c' || a === '--config') + 1];
    const mount = (nats.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target])).find(([, target]) => target === confPath);
    const conf = mount ? parseNatsConf(readRepoFile(mount[0]!)) : undefined;

    it('runs NATS 2.11 or later with JetStream on a named volume', () => {
      const version = /^nats:(\d+)\.(\d+)/.exec(nats.image ?? '');
      assert.ok(version && (Number(version[1]) > 2 || Number(version[2]) >= 11), `nats image ${nats.image}: 2.11+ (sync_interval: always)`);
      assert.ok(command.includes('-js') || command.includes('--jetstream') || natsBlock(conf ?? {}, 'jetstream'), 'JetStream is not enabled');
      const sd = command.indexOf('-sd') >= 0 ? command[command.indexOf('-sd') + 1] : (natsBlock(conf ?? {}, 'jetstream')?.store_dir as string | undefined);
      assert.ok(sd, 'no JetStream store directory (-sd)');
      const volume = (nats.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target])).find(([, target]) => target === sd);
      assert.ok(volume && compose.volumes && volume[0]! in compose.volumes, `the JetStream store ${sd} is not on a named volume: the journal would die with the container`);
    });

    it('loads infra/nats/nats.conf, which fsyncs before acknowledging (sync_interval: always)', () => {
      assert.ok(confPath, 'nats is started without a config file (-c)');
      assert.ok(mount, `nothing is mounted at ${confPath}`);
      assert.equal(mount[0]!.replace(/^\.\//, ''), 'infra/nats/nats.conf');
      const jetstream = natsBlock(conf!, 'jetstream');
      assert.ok(jetstream, 'nats.conf has no jetstream block');
      assert.equal(jetstream.sync_interval, 'always', 'jetstream.sync_interval must be always: by default JetStream acks before fsync');
    });

    it('is checked healthy on its monitoring port with JetStream enabled, on the port the services use', () => {
      const url = urlIn(healthcheckText(nats.healthcheck));
      assert.ok(url, 'nats has no HTTP healthcheck');
      assert.equal(url.pathname, '/healthz');
      assert.equal(url.searchParams.get('js-enabled-only'), 'true');
      assert.equal(String(portOf(url)), String(conf?.http_port ?? conf?.http ?? 8222).replace(/^.*:/, ''), 'healthcheck port is not the monitoring port');
      for (const app of APPS.filter((a) => a.usesNats)) {
        const natsUrl = new URL(String(configOf(app).NATS_URL).split(',')[0]!);
        assert.equal(natsUrl.hostname, 'nats', `${app.name}: NATS_URL host`);
        assert.equal(String(portOf(natsUrl)), String(conf?.port ?? 4222), `${app.name}: NATS_URL port`);
      }
    });
  });

  describe('postgres', () => {
    const pg = service('postgres');
    it('is checked with pg_isready and keeps its data on a named volume', () => {
      assert.match(healthcheckText(pg.healthcheck), /pg_isready/);
      const data = (pg.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target])).find(([, target]) => target === '/var/lib/postgresql/data');
      assert.ok(data && compose.volumes && data[0]! in compose.volumes, 'Postgres data is not on a named volume');
    });
    it("is what every Postgres user's DATABASE_URL names (host, port, user, password, database)", () => {
      const env = envOf('postgres');
      for (const app of APPS.filter((a) => a.usesPostgres)) {
        const url = new URL(String(configOf(app).DATABASE_URL));
        assert.equal(url.hostname, 'postgres', `${app.name}: DATABASE_URL host`);
        assert.equal(portOf(url), 5432, `${app.name}: DATABASE_URL port`);
        assert.equal(decodeURIComponent(url.username), env.POSTGRES_USER, `${app.name}: DATABASE_URL user`);
        assert.equal(decodeURIComponent(url.password), env.POSTGRES_PASSWORD, `${app.name}: DATABASE_URL password`);
        assert.equal(url.pathname.slice(1), env.POSTGRES_DB ?? env.POSTGRES_USER, `${app.name}: DATABASE_URL database`);
      }
    });
  });

  describe('minio', () => {
    const minio = service('minio');
    const init = service('minio-init');
    it('serves /data with a console, and is checked healthy', () => {
      assert.match(commandText(minio.command), /\bserver\s+\/data\b.*--console-address\s+:9001/);
      const health = healthcheckText(minio.healthcheck);
      assert.ok(/\bmc ready local\b/.test(health) || /\/minio\/health\/(live|ready)/.test(health), `minio healthcheck: ${health}`);
    });
    it("creates asset-service's S3_BUCKET once minio is healthy, then exits", () => {
      assert.equal(dependsOn('minio-init').minio, 'service_healthy');
      assert.match(init.restart ?? 'no', /^no$/, 'minio-init is a one-shot job: restart "no"');
      const script = commandText(init.entrypoint) + ' ' + commandText(init.command);
      const made = [...script.matchAll(/\bmc\s+mb\s+(?:--?[\w-]+\s+)*[\w.-]+\/([a-z0-9][a-z0-9.-]+[a-z0-9])/g)].map((m) => m[1]);
      assert.ok(made.length > 0, `minio-init creates no bucket: ${script}`);
      for (const app of APPS.filter((a) => a.usesS3)) {
        const bucket = configOf(app).S3_BUCKET ?? defaultOf(app.spec, 'S3_BUCKET');
        assert.ok(made.includes(bucket as string), `${app.name} uses bucket ${String(bucket)}; minio-init creates ${made.join(', ')}`);
      }
    });
    it("is what asset-service's S3 settings name (endpoint and credentials)", () => {
      const env = envOf('minio');
      for (const app of APPS.filter((a) => a.usesS3)) {
        const config = configOf(app);
        const endpoint = new URL(String(config.S3_ENDPOINT));
        assert.equal(endpoint.hostname, 'minio', `${app.name}: S3_ENDPOINT host`);
        assert.equal(portOf(endpoint), 9000, `${app.name}: S3_ENDPOINT port`);
        assert.equal(config.S3_ACCESS_KEY, env.MINIO_ROOT_USER, `${app.name}: S3_ACCESS_KEY`);
        assert.equal(config.S3_SECRET_KEY, env.MINIO_ROOT_PASSWORD, `${app.name}: S3_SECRET_KEY`);
      }
      const initEnv = envOf('minio-init');
      for (const key of ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD']) assert.equal(initEnv[key], env[key], `minio-init: ${key}`);
    });
  });
});
