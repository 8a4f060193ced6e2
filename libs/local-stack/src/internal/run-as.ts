import { execFile } from 'node:child_process';
import { chmod, chown, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A system account to run a server as. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** Looks a system user up with `id`; throws with advice when it does not exist. */
export async function systemUser(user: string): Promise<RunAs> {
  try {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', user]).then((r) => Number(r.stdout.trim())), execFileAsync('id', ['-g', user]).then((r) => Number(r.stdout.trim()))]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`unexpected output from id for ${user}`);
    return { user, uid, gid };
  } catch (error) {
    throw new Error(
      `running as root, so the server must run as the "${user}" system user, which was not found ` +
        `(the Debian package creates it: apt-get install -y postgresql): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Makes sure `account` can reach `path`: every ancestor directory that it could not traverse gets the
 * search bit for others (`o+x`, no read permission). Needed because temp dirs from `mkdtemp` are 0700.
 */
export async function ensureTraversable(path: string, account: RunAs): Promise<void> {
  let dir = resolve(path);
  for (;;) {
    const info = await stat(dir);
    const canTraverse = (info.uid === account.uid && (info.mode & 0o100) !== 0) || (info.gid === account.gid && (info.mode & 0o010) !== 0) || (info.mode & 0o001) !== 0;
    if (!canTraverse) await chmod(dir, (info.mode & 0o7777) | 0o001);
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/** Gives `path` to `account` (not recursive). */
export async function giveTo(path: string, account: RunAs): Promise<void> {
  await chown(path, account.uid, account.gid);
}
