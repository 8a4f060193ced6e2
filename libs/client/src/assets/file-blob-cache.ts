import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkBlobKey, type BlobCache, type BlobEntry } from './blob-cache';
import { SHA256_HEX } from './sha256';

const TEMP = '.tmp-';

/**
 * A {@link BlobCache} in one directory for Node (`@tidemark/client/node`): one file per entry, named by its
 * sha256; the file's modification time is the entry's last use (`touch` sets it with `utimes`, no sync).
 * `put` writes `.tmp-<sha256>-<random>`, `fsync`s it, renames it over the entry and `fsync`s the directory, so a
 * crash leaves the whole entry or none; `open` removes temp files left by a crash. `get` reads the entry into
 * memory. Use its own directory (not a `FileStorage`'s).
 */
export class FileBlobCache implements BlobCache {
  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<FileBlobCache> {
    const path = resolve(dir);
    await mkdir(path, { recursive: true, mode: 0o700 });
    for (const name of await readdir(path)) if (name.startsWith(TEMP)) await unlink(join(path, name)).catch(() => undefined);
    return new FileBlobCache(path);
  }

  async get(key: string): Promise<Blob | undefined> {
    try {
      return new Blob([await readFile(this.path(key))]);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, bytes: Blob, usedAt: number): Promise<void> {
    const target = this.path(key);
    const temp = join(this.dir, `${TEMP}${key}-${randomBytes(6).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      handle = await open(temp, 'wx', 0o600);
      const slice = 8 * 1024 * 1024;
      for (let at = 0; at < bytes.size; at += slice) await handle.write(new Uint8Array(await bytes.slice(at, at + slice).arrayBuffer()));
      await handle.sync();
      await handle.close();
      handle = undefined;
      await utimes(temp, usedAt / 1000, usedAt / 1000);
      await rename(temp, target);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    const dir = await open(this.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.path(key)).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  async touch(key: string, usedAt: number): Promise<void> {
    await utimes(this.path(key), usedAt / 1000, usedAt / 1000).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  async entries(): Promise<BlobEntry[]> {
    const entries: BlobEntry[] = [];
    for (const name of await readdir(this.dir)) {
      if (!SHA256_HEX.test(name)) continue;
      try {
        const info = await stat(join(this.dir, name));
        entries.push({ key: name, size: info.size, usedAt: info.mtimeMs });
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    return entries;
  }

  private path(key: string): string {
    return join(this.dir, checkBlobKey(key));
  }
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'ENOENT';
}
