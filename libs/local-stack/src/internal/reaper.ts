// Internal helper process started (once per Node process) by the process supervisor in proc.ts.
// It holds an IPC channel to its parent and a list of server process groups. When the parent goes away
// by any means (normal exit, crash, SIGKILL), the channel closes and this process stops those groups:
// first with each group's graceful signal, then with SIGKILL for whatever is still alive after a grace
// period. It exits as soon as it has nothing left to do. It is not part of the public API.
import { livingGroupMembers, signalGroup, isAlive } from './groups';

const GRACE_MS = 20_000;
const groups = new Map<number, NodeJS.Signals>();
const parentPid = process.ppid;
let reaping = false;

interface ReaperMessage {
  type: 'add' | 'remove';
  pgid: number;
  signal?: NodeJS.Signals;
}

function isReaperMessage(value: unknown): value is ReaperMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Partial<ReaperMessage>;
  return (message.type === 'add' || message.type === 'remove') && typeof message.pgid === 'number';
}

process.on('message', (message: unknown) => {
  if (!isReaperMessage(message)) return;
  if (message.type === 'add') groups.set(message.pgid, message.signal ?? 'SIGTERM');
  else groups.delete(message.pgid);
});

async function reap(): Promise<void> {
  if (reaping) return;
  reaping = true;
  clearInterval(watch);
  for (const [pgid, signal] of groups) signalGroup(pgid, signal);
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline && [...groups.keys()].some((pgid) => livingGroupMembers(pgid).length > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const pgid of groups.keys()) if (livingGroupMembers(pgid).length > 0) signalGroup(pgid, 'SIGKILL');
  process.exit(0);
}

process.on('disconnect', () => void reap());
// Belt and braces: notice a vanished parent even if the channel close went unnoticed.
const watch = setInterval(() => {
  if (!isAlive(parentPid)) void reap();
}, 1_000);
