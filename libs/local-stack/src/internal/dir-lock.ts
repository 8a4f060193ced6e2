import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandLineOf, isAlive, livingGroupMembers, signalGroup } from './groups';
import { pollUntil } from './poll';

interface LockRecord {
  service: string;
  ownerPid: number;
  pids: number[];
  startedAt: string;
}

/** A claim on a data directory by one running server (or set of servers). */
export interface DirLock {
  /** Records the pids of the processes now serving this directory. */
  update(pids: readonly number[]): Promise<void>;
  /** Gives the directory up (after the processes have stopped). */
  release(): Promise<void>;
}

/** `true` when `pid` is alive and its command line mentions `marker` (so a recycled pid is not mistaken for ours). */
export function isOurProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  if (process.platform !== 'linux') return true;
  return commandLineOf(pid)?.includes(marker) ?? false;
}

/**
 * Claims `dir` for `service`. A lock left behind by a run that is gone (its server processes are dead) is
 * taken over. Server processes still alive from a run whose owning Node process has died are orphans:
 * they are stopped first. If the owner is alive and so are its servers, the directory is in use and this
 * throws, naming the pids and the lock file.
 */
export async function acquireDirLock(dir: string, service: string, marker: string = dir): Promise<DirLock> {
  const file = join(dir, `.tidemark-${service}.lock.json`);
  const record: LockRecord = { service, ownerPid: process.pid, pids: [], startedAt: new Date().toISOString() };
  const save = (flag: 'w' | 'wx'): Promise<void> => writeFile(file, JSON.stringify(record, null, 2) + '\n', { flag });
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await save('wx');
      return {
        async update(pids) {
          record.pids = [...pids];
          await save('w');
        },
        async release() {
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let previous: LockRecord | undefined;
    try {
      previous = JSON.parse(await readFile(file, 'utf8')) as LockRecord;
    } catch {
      previous = undefined; // unreadable or half-written: treat as stale
    }
    if (previous) {
      const pids = Array.isArray(previous.pids) ? previous.pids : [];
      const survivors = pids.filter((pid) => isOurProcess(pid, marker));
      const ownerAlive = isAlive(previous.ownerPid);
      if (ownerAlive && (survivors.length > 0 || pids.length === 0)) {
        const what = survivors.length > 0 ? `server pids ${survivors.join(', ')}` : 'still starting';
        throw new Error(`${service} data directory ${dir} is in use by process ${previous.ownerPid} (${what}). ` + `Stop that instance first; if it is not a tidemark process, delete ${file}.`);
      }
      if (survivors.length > 0) {
        // Orphans of a run that died without stopping them: stop them so we can take over.
        for (const pid of survivors) signalGroup(pid, 'SIGTERM');
        await pollUntil(async () => survivors.every((pid) => livingGroupMembers(pid).length === 0), {
          timeoutMs: 15_000,
          intervalMs: 50,
          what: `orphaned ${service} processes ${survivors.join(', ')} to stop`,
        }).catch(() => survivors.forEach((pid) => signalGroup(pid, 'SIGKILL')));
      }
    }
    await rm(file, { force: true });
  }
  throw new Error(`could not claim ${service} data directory ${dir}: ${file} keeps reappearing`);
}
