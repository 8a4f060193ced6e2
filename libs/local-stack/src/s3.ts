import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'minio';
import { acquireDirLock } from './internal/dir-lock';
import { describeLog, latestRun } from './internal/logs';
import { pollUntil } from './internal/poll';
import { ManagedProcess } from './internal/proc';
import { SWIFT_DEVICE, SWIFT_LAUNCHER, SWIFT_PART_POWER, backendConf, proxyConf, splitAccessKey, swiftConf, type SwiftBackend, type SwiftLayout } from './internal/swift-files';
import { swiftPython, swiftPythonEnv } from './internal/swift-python';
import { which } from './internal/which';
import { canConnect, choosePort, findFreePort, isPortFree } from './ports';

const execFileAsync = promisify(execFile);

/** The only region the local store speaks (it signs and answers as `us-east-1`). */
export type S3Region = 'us-east-1';

/** What a client needs to reach an S3 endpoint. */
export interface S3Connection {
  /** `http://HOST:PORT`; path-style buckets only. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

/** Options for {@link startS3}. */
export interface S3Options {
  /**
   * Directory owned by this store: `etc/` (swift.conf, rings, server configs), `devices/d1/` (the data),
   * `log/`, `run/` and `state.json` (backend ports, credentials and the placement secret, reused on restart).
   */
  dataDir: string;
  /** S3 (proxy) port; a free one when omitted. */
  port?: number;
  /** S3 port to use when `port` is omitted and this one is free (the embedded stack's stable default). */
  preferredPort?: number;
  /** Bind address of every process. Default `127.0.0.1`. */
  host?: string;
  /** Access key in tempauth form `account:user`. Default `tidemark:admin`. */
  accessKey?: string;
  /** Secret key. Default: generated on first start and kept in `state.json`. */
  secretKey?: string;
  /** Largest single PUT in bytes (Swift `max_file_size`). Default 5 GiB + 2 (S3's limit); multipart objects may be larger. */
  maxObjectSize?: number;
  /** Start-up deadline in milliseconds. Default 60 000. */
  startTimeoutMs?: number;
}

/** A running S3-compatible store (OpenStack Swift with s3api, single node, one replica). */
export interface S3Handle extends S3Connection {
  readonly endpoint: string;
  readonly port: number;
  readonly host: string;
  readonly region: S3Region;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly dataDir: string;
  /** Folder with one log per process (proxy-server.log has the S3 access log). */
  readonly logDir: string;
  /** Pids of every process of the store (memcached, account, container, object and proxy servers). */
  readonly pids: readonly number[];
  /** Creates bucket `name` unless this account already owns it. */
  createBucket(name: string): Promise<void>;
  /** Graceful stop of every process; resolves once all are gone. */
  stop(): Promise<void>;
  /** SIGKILL to every process; resolves once all are gone. */
  kill(): Promise<void>;
}

interface SwiftState {
  version: 1;
  hashPathSecret: string;
  secretKey: string;
  backendPorts: Record<SwiftBackend, number>;
  /** Ports and part power the current rings were built for. */
  ringsFor?: string;
}

const BACKENDS: readonly SwiftBackend[] = ['account', 'container', 'object'];
const SECRET = /^[A-Za-z0-9_.~+/=-]{8,128}$/;

/** A minio client for `connection` (path-style, plain HTTP unless the endpoint says https). */
function clientFor(connection: S3Connection): Client {
  const url = new URL(connection.endpoint);
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: connection.accessKey,
    secretKey: connection.secretKey,
    region: connection.region,
    pathStyle: true,
  });
}

/** Creates bucket `name` at `connection` unless it already exists and is ours. */
export async function createS3Bucket(connection: S3Connection, name: string): Promise<void> {
  try {
    await clientFor(connection).makeBucket(name, connection.region);
  } catch (error) {
    if ((error as { code?: string }).code !== 'BucketAlreadyOwnedByYou') throw error;
  }
}

async function readState(file: string): Promise<SwiftState | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as SwiftState;
    return state.version === 1 ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Reuses the recorded backend ports when they are all free (the rings name them), else picks new ones. */
async function chooseBackendPorts(host: string, recorded: Record<SwiftBackend, number> | undefined): Promise<Record<SwiftBackend, number>> {
  if (recorded && (await Promise.all(BACKENDS.map((kind) => isPortFree(recorded[kind], host)))).every(Boolean)) return recorded;
  const ports = {} as Record<SwiftBackend, number>;
  for (const kind of BACKENDS) ports[kind] = await findFreePort(host);
  return ports;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts an S3-compatible store: OpenStack Swift (Debian packages) with its s3api middleware and tempauth,
 * single node, one replica, plus its own memcached. Waits until a signed S3 ListBuckets succeeds.
 * Rejects with the log tails of every process when one exits or the deadline passes.
 */
export async function startS3(options: S3Options): Promise<S3Handle> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const region: S3Region = 'us-east-1';
  const accessKey = options.accessKey ?? 'tidemark:admin';
  splitAccessKey(accessKey);
  if (options.secretKey !== undefined && !SECRET.test(options.secretKey)) {
    throw new Error('S3 secret key must be 8-128 characters of letters, digits and _.~+/=-');
  }
  const memcached = which('memcached');
  if (!memcached || !which('swift-proxy-server')) {
    throw new Error('OpenStack Swift or memcached not found; install them: apt-get install -y swift swift-proxy swift-account swift-container swift-object python3-swift memcached');
  }
  const python = swiftPython();
  const dirs = { etc: join(dataDir, 'etc'), devices: join(dataDir, 'devices'), log: join(dataDir, 'log'), run: join(dataDir, 'run') };
  await Promise.all([...Object.values(dirs), join(dirs.devices, SWIFT_DEVICE)].map((dir) => mkdir(dir, { recursive: true })));
  const stateFile = join(dataDir, 'state.json');
  const launcher = join(dirs.etc, 'launch.py');
  const lock = await acquireDirLock(dataDir, 's3', dataDir);
  const processes: ManagedProcess[] = [];
  const stopAll = async (how: 'stop' | 'kill'): Promise<void> => {
    await Promise.all(processes.map((p) => p[how]()));
  };

  let layout: SwiftLayout | undefined;
  try {
    const previous = await readState(stateFile);
    const secretKey = options.secretKey ?? previous?.secretKey ?? randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
    const hashPathSecret = previous?.hashPathSecret ?? randomBytes(16).toString('hex');
    await writeFile(launcher, SWIFT_LAUNCHER);

    for (let attempt = 1; ; attempt++) {
      const backendPorts = await chooseBackendPorts(host, attempt === 1 ? previous?.backendPorts : undefined);
      const ports = {
        ...backendPorts,
        proxy: await choosePort(options.port, options.preferredPort, host, attempt),
        memcached: await findFreePort(host),
      };
      layout = {
        swiftDir: dirs.etc,
        devicesDir: dirs.devices,
        host,
        user: userInfo().username,
        ports,
        hashPathSecret,
        accessKey,
        secretKey,
        region,
        maxObjectSize: options.maxObjectSize ?? 5 * 1024 ** 3 + 2,
      };
      const current = layout;
      await writeFile(join(dirs.etc, 'swift.conf'), swiftConf(current));
      for (const kind of BACKENDS) await writeFile(join(dirs.etc, `${kind}-server.conf`), backendConf(kind, current));
      await writeFile(join(dirs.etc, 'proxy-server.conf'), proxyConf(current));

      // Rings record the backend addresses. With a single device every partition lives on d1 whatever the
      // ports, so rebuilding them for new ports keeps existing data reachable.
      const ringsFor = `${host} ${BACKENDS.map((kind) => `${kind}=${backendPorts[kind]}`).join(' ')} pp=${SWIFT_PART_POWER}`;
      const ringsPresent = BACKENDS.every((kind) => existsSync(join(dirs.etc, `${kind}.ring.gz`)));
      if (!ringsPresent || previous?.ringsFor !== ringsFor) {
        const args = [launcher, dirs.etc, 'rings', String(SWIFT_PART_POWER), host, SWIFT_DEVICE, ...BACKENDS.map((kind) => `${kind}=${backendPorts[kind]}`)];
        try {
          await execFileAsync(python, args, { env: swiftPythonEnv(), timeout: 60_000 });
        } catch (error) {
          const output = error as { stderr?: string; message?: string };
          throw new Error(`building the Swift rings failed: ${output.message ?? String(error)}\n${output.stderr ?? ''}`, { cause: error });
        }
      }
      const state: SwiftState = { version: 1, hashPathSecret, secretKey, backendPorts, ringsFor };
      await writeFile(stateFile, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });

      const launches = [
        ManagedProcess.launch({
          name: 'memcached',
          command: memcached,
          args: ['-l', host, '-p', String(ports.memcached), '-U', '0', '-m', '64', '-c', '1024', '-P', join(dirs.run, 'memcached.pid'), ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])],
          logFile: join(dirs.log, 'memcached.log'),
          cwd: dataDir,
        }),
        ...(['account', 'container', 'object', 'proxy'] as const).map((kind) =>
          ManagedProcess.launch({
            name: `swift-${kind}-server`,
            command: python,
            args: [launcher, dirs.etc, `${kind}-server`, join(dirs.etc, `${kind}-server.conf`)],
            logFile: join(dirs.log, `${kind}-server.log`),
            cwd: dataDir,
            env: swiftPythonEnv(),
            stopTimeoutMs: 10_000,
          }),
        ),
      ];
      const settled = await Promise.allSettled(launches);
      for (const result of settled) if (result.status === 'fulfilled') processes.push(result.value);
      await lock.update(processes.map((p) => p.pid));
      const failedLaunch = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failedLaunch) throw failedLaunch.reason;

      try {
        const client = clientFor({ endpoint: `http://${host}:${ports.proxy}`, accessKey, secretKey, region });
        await pollUntil(
          async () => {
            if (!(await canConnect(ports.memcached, host))) return false;
            for (const kind of BACKENDS) if (!(await httpOk(`http://${host}:${ports[kind]}/healthcheck`))) return false;
            if (!(await httpOk(`http://${host}:${ports.proxy}/healthcheck`))) return false;
            await client.listBuckets();
            return true;
          },
          {
            timeoutMs: options.startTimeoutMs ?? 60_000,
            intervalMs: 50,
            what: `the S3 store on ${host}:${ports.proxy} to answer a signed ListBuckets`,
            abortIf: () => processes.forEach((p) => p.throwIfExited()),
          },
        );
        break;
      } catch (error) {
        await stopAll('kill');
        const tails = await Promise.all(processes.map((p) => describeLog(p.spec.name, p.spec.logFile)));
        const logs = tails.join('');
        processes.length = 0;
        const inUse = tails.some((tail) => /address already in use|could not bind/i.test(latestRun(tail)));
        if (inUse && options.port === undefined && attempt < 3) continue;
        throw new Error(`the S3 store (Swift) did not start in ${dataDir}: ${error instanceof Error ? error.message : String(error)}${logs}`, { cause: error });
      }
    }
  } catch (error) {
    await stopAll('kill');
    await lock.release();
    throw error;
  }

  const ready = layout;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${ready.ports.proxy}`;
  const connection: S3Connection = { endpoint, accessKey, secretKey: ready.secretKey, region };
  return {
    endpoint,
    port: ready.ports.proxy,
    host,
    region,
    accessKey,
    secretKey: ready.secretKey,
    dataDir,
    logDir: dirs.log,
    pids: processes.map((p) => p.pid),
    createBucket: (name) => createS3Bucket(connection, name),
    async stop() {
      await stopAll('stop');
      await lock.release();
    },
    async kill() {
      await stopAll('kill');
      await lock.release();
    },
  };
}
