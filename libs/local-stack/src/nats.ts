import { execFile } from 'node:child_process';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { acquireDirLock, type DirLock } from './internal/dir-lock';
import { describeLog, latestRun } from './internal/logs';
import { pollUntil } from './internal/poll';
import { ManagedProcess } from './internal/proc';
import { which } from './internal/which';
import { canConnect, choosePort, findFreePort } from './ports';

const execFileAsync = promisify(execFile);

/** A failed start; `portInUse` when the log of this attempt says the port was taken (worth another port). */
class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/** Whether the latest run in a log tail (after the last "=== … starting" header) failed to bind. */
function portInUse(logTail: string): boolean {
  return /address already in use/i.test(latestRun(logTail));
}

/** Options for {@link startNats}. */
export interface NatsServerOptions {
  /** Directory for the config, log and JetStream store (`<dataDir>/jetstream`). Created if missing. */
  dataDir: string;
  /** Client port; a free one when omitted. */
  port?: number;
  /** Client port to use when `port` is omitted and this one is free (the embedded stack's stable default). */
  preferredPort?: number;
  /** HTTP monitoring port (used for readiness); a free one when omitted. */
  monitorPort?: number;
  /** Monitoring port to use when `monitorPort` is omitted and this one is free. */
  preferredMonitorPort?: number;
  /** Bind address. Default `127.0.0.1`. */
  host?: string;
  /**
   * Ask JetStream to fsync every write (`sync_interval: always`). Only servers ≥ 2.10 know the option;
   * with an older server it is left out and the handle's `syncAlways` is `false`.
   */
  syncAlways?: boolean;
  /** The nats-server executable. Default: `nats-server` from PATH or `/usr/sbin`. */
  binary?: string;
  /** Where the server's output goes. Default `<dataDir>/nats-server.log`. */
  logFile?: string;
  /** Start-up deadline in milliseconds. Default 30 000. */
  startTimeoutMs?: number;
  /**
   * Makes this server one node of a JetStream cluster (see {@link startNatsCluster}, which is how to start
   * one: the nodes must start together, as JetStream is healthy only once a majority elected a meta leader).
   */
  cluster?: NatsClusterMembership;
}

/** One node's place in a cluster: the `server_name`, `cluster { name, listen, routes }` of its config. */
export interface NatsClusterMembership {
  /** The cluster's name, the same on every node. */
  name: string;
  /** This node's `server_name` (what stream info reports as `cluster.leader`); unique in the cluster. */
  serverName: string;
  /** This node's route port (`cluster { listen }`); explicit, as the other nodes' routes name it. */
  port: number;
  /** The other nodes' route URLs (`nats-route://host:port`). */
  routes: string[];
}

/** A running nats-server with JetStream (file storage). */
export interface NatsServerHandle {
  /** `nats://host:port`. */
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly host: string;
  readonly dataDir: string;
  /** Pid of the current server process (changes on {@link NatsServerHandle.restart}). */
  readonly pid: number;
  /** Server version as reported by `/varz`. */
  readonly version: string;
  /** Whether `sync_interval: always` is in effect (false when not requested or not supported). */
  readonly syncAlways: boolean;
  readonly logFile: string;
  /** The `server_name` of a cluster node (undefined for a standalone server). */
  readonly serverName: string | undefined;
  /** Graceful stop (SIGTERM), resolves once the process has exited. */
  stop(): Promise<void>;
  /** Hard stop (SIGKILL), resolves once the process has exited. For crash tests. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports with the same data (after stop or kill, or while running). */
  restart(): Promise<void>;
}

const syncSupport = new Map<string, Promise<boolean>>();

/** Whether this nats-server binary accepts `jetstream { sync_interval: always }` (checked once per binary with `-t`). */
function supportsSyncAlways(binary: string, scratchDir: string): Promise<boolean> {
  let known = syncSupport.get(binary);
  if (!known) {
    known = (async () => {
      const probe = join(scratchDir, `.sync-probe-${process.pid}.conf`);
      await writeFile(probe, 'jetstream {\n  sync_interval: always\n}\n');
      try {
        await execFileAsync(binary, ['-t', '-c', probe], { timeout: 10_000 });
        return true;
      } catch {
        return false;
      } finally {
        await rm(probe, { force: true });
      }
    })();
    syncSupport.set(binary, known);
  }
  return known;
}

function natsConfig(o: { host: string; port: number; monitorPort: number; storeDir: string; syncAlways: boolean; cluster: NatsClusterMembership | undefined }): string {
  return [
    '# Written by @tidemark/local-stack on every start; edits are overwritten.',
    ...(o.cluster ? [`server_name: ${JSON.stringify(o.cluster.serverName)}`] : []),
    `listen: "${o.host}:${o.port}"`,
    `http: "${o.host}:${o.monitorPort}"`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(o.storeDir)}`,
    ...(o.syncAlways ? ['  sync_interval: always'] : []),
    '}',
    ...(o.cluster
      ? ['cluster {', `  name: ${JSON.stringify(o.cluster.name)}`, `  listen: "${o.host}:${o.cluster.port}"`, `  routes: [${o.cluster.routes.map((r) => JSON.stringify(r)).join(', ')}]`, '}']
      : []),
    '',
  ].join('\n');
}

async function httpJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/**
 * Starts `nats-server` with JetStream (file storage under `<dataDir>/jetstream`) and waits until it accepts
 * TCP connections and reports JetStream healthy on its monitoring endpoint (`/healthz`).
 * Rejects with the tail of the server log when it exits or the deadline passes.
 */
export async function startNats(options: NatsServerOptions): Promise<NatsServerHandle> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const found = which(options.binary ?? 'nats-server');
  if (!found) throw new Error(`nats-server not found (${options.binary ?? 'PATH, /usr/sbin'}); install it: apt-get install -y nats-server`);
  const binary: string = found;
  await mkdir(dataDir, { recursive: true });
  const logFile = resolve(options.logFile ?? join(dataDir, 'nats-server.log'));
  const configFile = join(dataDir, 'nats-server.conf');
  const syncAlways = options.syncAlways === true && (await supportsSyncAlways(binary, dataDir));
  let lock: DirLock | undefined = await acquireDirLock(dataDir, 'nats', configFile);
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  let port = options.port ?? 0;
  let monitorPort = options.monitorPort ?? 0;
  let current: ManagedProcess | undefined;
  let version = '';

  async function launch(): Promise<void> {
    await writeFile(configFile, natsConfig({ host, port, monitorPort, storeDir: dataDir, syncAlways, cluster: options.cluster }));
    const server = await ManagedProcess.launch({
      name: 'nats-server',
      command: binary,
      args: ['-c', configFile],
      logFile,
      cwd: dataDir,
    });
    current = server;
    await lock?.update([server.pid]);
    try {
      const varz = await pollUntil(
        async () => {
          if (!(await canConnect(port, host))) return undefined;
          const health = await httpJson(`http://${host}:${monitorPort}/healthz`);
          if (health['status'] !== 'ok') throw new Error(`healthz: ${JSON.stringify(health)}`);
          return httpJson(`http://${host}:${monitorPort}/varz`);
        },
        { timeoutMs, intervalMs: 25, what: `nats-server on ${host}:${port} with JetStream`, abortIf: () => server.throwIfExited() },
      );
      version = String(varz['version'] ?? '');
    } catch (error) {
      await server.kill();
      const log = await describeLog('nats-server log', logFile);
      const message = error instanceof Error ? error.message : String(error);
      throw new StartError(`nats-server did not start: ${message}${log}`, portInUse(log), error);
    }
  }

  try {
    for (let attempt = 1; ; attempt++) {
      port = await choosePort(options.port, options.preferredPort, host, attempt);
      monitorPort = await choosePort(options.monitorPort, options.preferredMonitorPort, host, attempt);
      try {
        await launch();
        break;
      } catch (error) {
        const retry = error instanceof StartError && error.portInUse && options.port === undefined && attempt < 3;
        if (!retry) throw error;
      }
    }
  } catch (error) {
    await lock?.release();
    throw error;
  }

  const unlock = async (): Promise<void> => {
    await lock?.release();
    lock = undefined;
  };
  const handle: NatsServerHandle = {
    get url() {
      return `nats://${host}:${port}`;
    },
    get port() {
      return port;
    },
    get monitorPort() {
      return monitorPort;
    },
    host,
    dataDir,
    get pid() {
      return current?.pid ?? 0;
    },
    get version() {
      return version;
    },
    syncAlways,
    logFile,
    serverName: options.cluster?.serverName,
    async stop() {
      await current?.stop();
      await unlock();
    },
    async kill() {
      await current?.kill();
      await unlock();
    },
    async restart() {
      await current?.stop();
      lock ??= await acquireDirLock(dataDir, 'nats', configFile);
      try {
        await launch();
      } catch (error) {
        await unlock();
        throw error;
      }
    },
  };
  return handle;
}

/** Options for {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Directory holding one directory per node (`<dataDir>/n1` …), each with its config, log and store. */
  dataDir: string;
  /** Nodes in the cluster. Default 3 (JetStream needs a majority: 3 nodes survive the loss of one). */
  nodes?: number;
  /** The cluster's name. Default `tidemark`. */
  name?: string;
  /** Bind address. Default `127.0.0.1`. */
  host?: string;
  /** The nats-server executable. Default: `nats-server` from PATH or `/usr/sbin`. */
  binary?: string;
  /** Start-up deadline of each node in milliseconds. Default 60 000. */
  startTimeoutMs?: number;
}

/** A running JetStream cluster: its nodes, each a {@link NatsServerHandle} that can be killed and restarted. */
export interface NatsClusterHandle {
  readonly nodes: readonly NatsServerHandle[];
  /** Every node's client URL, comma-separated: what `NATS_URL` takes. */
  readonly urls: string;
  /** The node whose `server_name` is `serverName` (as stream info's `cluster.leader` names it). */
  node(serverName: string): NatsServerHandle;
  /** Graceful stop of every node. */
  stop(): Promise<void>;
}

/**
 * Starts a JetStream cluster of `nodes` nats-servers on loopback: each with its own store, `server_name`
 * (`n1` …) and routes to the others, on ports chosen up front (the routes name them, so a node cannot move
 * to another port on a clash). The nodes start together and each is awaited until its `/healthz` is ok,
 * which in a cluster means JetStream is current with an elected meta leader.
 */
export async function startNatsCluster(options: NatsClusterOptions): Promise<NatsClusterHandle> {
  const count = options.nodes ?? 3;
  const host = options.host ?? '127.0.0.1';
  const name = options.name ?? 'tidemark';
  const ports: { client: number; monitor: number; route: number }[] = [];
  const taken = new Set<number>();
  const free = async (): Promise<number> => {
    for (;;) {
      const port = await findFreePort(host);
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  for (let i = 0; i < count; i++) ports.push({ client: await free(), monitor: await free(), route: await free() });
  const started = await Promise.allSettled(
    ports.map((p, i) =>
      startNats({
        dataDir: join(options.dataDir, `n${i + 1}`),
        host,
        port: p.client,
        monitorPort: p.monitor,
        ...(options.binary ? { binary: options.binary } : {}),
        startTimeoutMs: options.startTimeoutMs ?? 60_000,
        cluster: { name, serverName: `n${i + 1}`, port: p.route, routes: ports.filter((_, j) => j !== i).map((o) => `nats-route://${host}:${o.route}`) },
      }),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    node(serverName) {
      const found = nodes.find((n) => n.serverName === serverName);
      if (!found) throw new Error(`no node named ${serverName} in this cluster (${nodes.map((n) => n.serverName).join(', ')})`);
      return found;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
