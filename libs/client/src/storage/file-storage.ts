import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkKey, type Storage } from './storage';

const LOCK = '.lock';
const TEMP = '.tmp-';
/** Directories this process holds open, so a second FileStorage on the same directory is refused too. */
const openHere = new Set<string>();

/** Thrown by {@link FileStorage.open} when another live process (or instance) holds the directory. */
export class StorageLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {
    super(`${dir} is in use by process ${holderPid}: one client per storage directory (it owns the device's sequence)`);
    this.name = 'StorageLockedError';
  }
}

/**
 * A {@link Storage} in one directory for Node: **one file per key**.
 *
 * - A key's file name is the key with every character other than `A–Z a–z 0–9 _ . -` written as `%XX`
 *   (`outbox/00000000000000000042` → `outbox%2F00000000000000000042`); the file holds the value, UTF-8.
 * - `put` writes `.tmp-<name>-<random>` (created exclusively, mode 0600), `fsync`s it, `rename`s it over the
 *   key's file and `fsync`s the directory, so a crash leaves the old value or the new one, never a torn record.
 *   Directory syncs of concurrent puts are shared (one sync covers every rename that finished before it).
 * - Names starting with `.` are the storage's own: `.lock` (the pid of the process that holds the directory)
 *   and temp files, which `list` ignores and `open` removes (a temp file is a put that never completed).
 * - `delete` unlinks without a directory sync (see the ordering contract in {@link Storage}).
 *
 * The directory is locked to one process: `open` refuses a directory whose `.lock` names a live process
 * (a lock left by a process that died, e.g. SIGKILL, is taken over).
 */
export class FileStorage implements Storage {
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  private closed = false;

  private constructor(readonly dir: string) {}

  /** Opens (creating it when missing) a storage directory and takes its lock. */
  static async open(dir: string): Promise<FileStorage> {
    const path = resolve(dir);
    await mkdir(path, { recursive: true, mode: 0o700 });
    if (openHere.has(path)) throw new StorageLockedError(path, process.pid);
    await lock(path);
    openHere.add(path);
    const storage = new FileStorage(path);
    for (const name of await readdir(path)) {
      if (name.startsWith(TEMP)) await unlink(join(path, name)).catch(ignoreMissing);
    }
    return storage;
  }

  async get(key: string): Promise<string | undefined> {
    checkKey(key);
    this.checkOpen();
    try {
      return await readFile(join(this.dir, fileName(key)), 'utf8');
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async put(key: string, value: string): Promise<void> {
    checkKey(key);
    this.checkOpen();
    const name = fileName(key);
    const temp = join(this.dir, `${TEMP}${name}-${randomBytes(6).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      handle = await open(temp, 'wx', 0o600);
      await handle.writeFile(value, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, join(this.dir, name));
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(ignoreMissing);
      throw error;
    }
    await this.syncDirectory();
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.checkOpen();
    await unlink(join(this.dir, fileName(key))).catch(ignoreMissing);
  }

  async list(prefix: string): Promise<string[]> {
    this.checkOpen();
    const names = await readdir(this.dir);
    return names
      .filter((name) => !name.startsWith('.'))
      .map((name) => decodeURIComponent(name))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }

  /** Releases the directory lock. Every resolved put is already durable, so closing flushes nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.syncing, this.nextSync]);
    openHere.delete(this.dir);
    await unlink(join(this.dir, LOCK)).catch(ignoreMissing);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`FileStorage ${this.dir} is closed`);
  }

  /**
   * Makes every rename that finished before this call durable. A sync already running may have started before
   * the caller's rename, so the caller waits for the next one; callers arriving meanwhile share that next one.
   */
  private syncDirectory(): Promise<void> {
    if (!this.syncing) {
      this.syncing = fsyncDirectory(this.dir).finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    this.nextSync ??= this.syncing.then(
      () => {
        this.nextSync = undefined;
        return this.syncDirectory();
      },
      () => {
        this.nextSync = undefined;
        return this.syncDirectory();
      },
    );
    return this.nextSync;
  }
}

function fileName(key: string): string {
  return key.replace(/[^A-Za-z0-9_.-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) cannot open or fsync a directory; renames there are as durable as they get.
    if (!isCode(error, 'EISDIR') && !isCode(error, 'EPERM') && !isCode(error, 'EINVAL') && !isCode(error, 'EACCES')) throw error;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function lock(dir: string): Promise<void> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(String(process.pid), 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      return;
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) throw new StorageLockedError(dir, holder);
    // Left by a process that died (or by this process before it reopened without closing): take it over.
    await unlink(path).catch(ignoreMissing);
  }
  throw new Error(`could not take the lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isCode(error, 'EPERM');
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function ignoreMissing(error: unknown): void {
  if (!isCode(error, 'ENOENT')) throw error;
}
