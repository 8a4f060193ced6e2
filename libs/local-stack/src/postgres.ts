import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, appendFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { acquireDirLock, isOurProcess, type DirLock } from './internal/dir-lock';
import { describeLog, latestRun } from './internal/logs';
import { pollUntil } from './internal/poll';
import { ManagedProcess } from './internal/proc';
import { ensureTraversable, giveTo, systemUser, type RunAs } from './internal/run-as';
import { which } from './internal/which';
import { choosePort } from './ports';

const execFileAsync = promisify(execFile);

/** Options for {@link startPostgres}. */
export interface PostgresOptions {
  /**
   * Directory owned by this server: the cluster lives in `<dataDir>/pgdata` (created with initdb when
   * missing), the unix socket in `<dataDir>/socket`, the log in `<dataDir>/postgres.log`.
   */
  dataDir: string;
  /** TCP port; a free one when omitted. */
  port?: number;
  /** Port to use when `port` is omitted and this one is free (the embedded stack's stable default). */
  preferredPort?: number;
  /** `listen_addresses`. Default `127.0.0.1`. */
  host?: string;
  /**
   * Throwaway mode for tests: `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`.
   * Never use it for data you want to keep. Default `false`.
   */
  ephemeral?: boolean;
  /** `max_connections`. Default 200. */
  maxConnections?: number;
  /** Directory holding `initdb` and `postgres`. Default: the highest `/usr/lib/postgresql/<N>/bin`, else PATH. */
  binDir?: string;
  /** Start-up deadline in milliseconds (crash recovery after a SIGKILL counts). Default 60 000. */
  startTimeoutMs?: number;
}

/** A running PostgreSQL server with trust authentication for the `postgres` superuser. */
export interface PostgresHandle {
  /** Admin URL: `postgres://postgres@HOST:PORT/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly pid: number;
  /** `server_version`, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
  readonly version: string;
  readonly logFile: string;
  /** URL of database `name` on this server (whether or not it exists). */
  databaseUrl(name: string): string;
  /** Creates database `name` unless it exists; resolves to its URL. */
  createDatabase(name: string): Promise<string>;
  /** Drops database `name` if it exists, disconnecting its sessions. */
  dropDatabase(name: string): Promise<void>;
  /** Fast shutdown (SIGINT: sessions are disconnected, a checkpoint is written); resolves once stopped. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and all its backends; resolves once all are gone. For crash tests. */
  kill(): Promise<void>;
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

function checkDatabaseName(name: string): void {
  if (!DATABASE_NAME.test(name)) {
    throw new Error(`invalid database name ${JSON.stringify(name)}: use letters, digits, "_" or "-" (at most 63, not starting with a digit)`);
  }
}

/** The URL of database `name` on the server that `adminUrl` points to. */
export function postgresDatabaseUrl(adminUrl: string, name: string): string {
  checkDatabaseName(name);
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined); // a server going away mid-call surfaces as a rejected query instead
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates database `name` on the server at `adminUrl` unless it already exists, and resolves to its URL.
 * `adminUrl` must connect as a role allowed to create databases.
 */
export async function createPostgresDatabase(adminUrl: string, name: string): Promise<string> {
  checkDatabaseName(name);
  await withClient(adminUrl, async (client) => {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) return;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      if ((error as { code?: string }).code !== '42P04') throw error; // created concurrently: fine
    }
  });
  return postgresDatabaseUrl(adminUrl, name);
}

/** Drops database `name` on the server at `adminUrl` if it exists, terminating its sessions (`WITH (FORCE)`). */
export async function dropPostgresDatabase(adminUrl: string, name: string): Promise<void> {
  checkDatabaseName(name);
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Finds a directory with both `initdb` and `postgres`: the highest Debian major version first, then PATH. */
export function findPostgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const majors = readdirSync(base)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const bin = join(base, major, 'bin');
      if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
    }
  }
  const initdb = which('initdb');
  if (!initdb) return undefined;
  const bin = dirname(realpathSync(initdb));
  return existsSync(join(bin, 'postgres')) ? bin : undefined;
}

/** Environment for the server tools: no PG* variables leaking in, messages in plain C locale. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG') && !key.startsWith('LC_')) env[key] = value;
  return { ...env, LC_ALL: 'C', LANG: 'C' };
}

async function initCluster(binDir: string, pgdata: string, logFile: string, account: RunAs | undefined): Promise<void> {
  if (existsSync(join(pgdata, 'PG_VERSION'))) return;
  if (existsSync(pgdata) && (await readdir(pgdata)).length > 0) {
    throw new Error(`${pgdata} is neither empty nor a PostgreSQL data directory (no PG_VERSION); refusing to initdb over it`);
  }
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  await chmod(pgdata, 0o700);
  if (account) await giveTo(pgdata, account);
  const args = ['-D', pgdata, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'];
  try {
    const { stdout, stderr } = await execFileAsync(join(binDir, 'initdb'), args, {
      uid: account?.uid,
      gid: account?.gid,
      env: serverEnv(),
      cwd: pgdata,
      timeout: 120_000,
    });
    await appendFile(logFile, `\n=== ${new Date().toISOString()} initdb ${args.join(' ')}\n${stdout}${stderr}`);
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string; message?: string };
    await rm(pgdata, { recursive: true, force: true }); // leave no half-initialised cluster behind
    throw new Error(`initdb failed for ${pgdata}: ${output.message ?? String(error)}\n${output.stdout ?? ''}${output.stderr ?? ''}`, { cause: error });
  }
}

/** Removes a postmaster.pid left by a killed server; refuses if a live postgres still serves the directory. */
async function clearStalePidFile(pgdata: string): Promise<void> {
  const pidFile = join(pgdata, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number(text.split('\n')[0]);
  if (isOurProcess(pid, pgdata)) {
    throw new Error(`PostgreSQL is already running on ${pgdata} (postmaster pid ${pid}), not started by this library; stop it first (pg_ctl -D ${pgdata} stop)`);
  }
  await rm(pidFile, { force: true });
}

/**
 * Starts PostgreSQL on `dataDir` (running `initdb` first when the cluster does not exist yet) and waits
 * until it answers a real query. When running as root, initdb and postgres run as the `postgres` system
 * user. Rejects with the server log tail when it exits or the deadline passes.
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const binDir = options.binDir ?? findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries (initdb, postgres) not found; install them: apt-get install -y postgresql');
  const pgdata = join(dataDir, 'pgdata');
  const socketDir = join(dataDir, 'socket');
  const logFile = join(dataDir, 'postgres.log');
  const account = process.getuid?.() === 0 ? await systemUser('postgres') : undefined;

  await mkdir(dataDir, { recursive: true });
  if (account) await ensureTraversable(dataDir, account);
  const lock: DirLock = await acquireDirLock(dataDir, 'postgres', pgdata);
  let server: ManagedProcess | undefined;
  let port = options.port ?? 0;
  let version = '';
  const url = (): string => `postgres://postgres@${host.includes(':') ? `[${host}]` : host}:${port}/postgres`;
  try {
    await initCluster(binDir, pgdata, logFile, account);
    await clearStalePidFile(pgdata);
    await mkdir(socketDir, { recursive: true });
    if (account) await giveTo(socketDir, account);

    for (let attempt = 1; ; attempt++) {
      port = await choosePort(options.port, options.preferredPort, host, attempt);
      // Unix socket paths are limited to ~107 bytes; fall back to TCP only when the data dir is deep.
      const socketArg = join(socketDir, `.s.PGSQL.${port}`).length < 100 ? socketDir : '';
      const args = [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-k',
        socketArg,
        '-c',
        `listen_addresses=${host}`,
        '-c',
        `max_connections=${options.maxConnections ?? 200}`,
        ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
      ];
      const current = await ManagedProcess.launch({
        name: 'postgres',
        command: join(binDir, 'postgres'),
        args,
        logFile,
        cwd: pgdata,
        env: serverEnv(),
        uid: account?.uid,
        gid: account?.gid,
        stopSignal: 'SIGINT',
        stopTimeoutMs: 60_000,
      });
      server = current;
      await lock.update([current.pid]);
      try {
        version = await pollUntil(() => withClient(url(), async (client) => String((await client.query('SHOW server_version')).rows[0]?.server_version ?? '')), {
          timeoutMs: options.startTimeoutMs ?? 60_000,
          intervalMs: 50,
          what: `postgres on ${host}:${port} to answer a query`,
          abortIf: () => current.throwIfExited(),
        });
        break;
      } catch (error) {
        await current.kill();
        const log = await describeLog('postgres log', logFile);
        const inUse = /could not bind|address already in use|could not create any TCP\/IP sockets/i.test(latestRun(log));
        if (inUse && options.port === undefined && attempt < 3) continue;
        throw new Error(`postgres did not start on ${pgdata}: ${error instanceof Error ? error.message : String(error)}${log}`, { cause: error });
      }
    }
  } catch (error) {
    await server?.kill();
    await lock.release();
    throw error;
  }

  const running = server;
  if (!running) throw new Error('postgres: internal error, no server after start');
  const adminUrl = url();
  return {
    url: adminUrl,
    port,
    host,
    dataDir,
    pid: running.pid,
    version,
    logFile,
    databaseUrl: (name) => postgresDatabaseUrl(adminUrl, name),
    createDatabase: (name) => createPostgresDatabase(adminUrl, name),
    dropDatabase: (name) => dropPostgresDatabase(adminUrl, name),
    async stop() {
      await running.stop();
      await lock.release();
    },
    async kill() {
      await running.kill();
      await lock.release();
    },
  };
}
