import { rmSync } from 'node:fs';

interface Task {
  run(): Promise<void>;
  /** What can still be done synchronously in an `exit` handler. */
  runSync?(): void;
  done: boolean;
}

const tasks: Task[] = [];
let hooked = false;
let draining: Promise<void> | undefined;

async function drain(): Promise<void> {
  // Last registered first: servers stop before the folders they live in are removed.
  for (const task of [...tasks].reverse()) {
    if (task.done) continue;
    task.done = true;
    await task.run().catch((error: unknown) => console.error('[testing] clean-up failed:', error));
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  // `beforeExit` fires when the event loop runs dry (the tests are done), and allows async work.
  process.on('beforeExit', () => {
    if (tasks.some((task) => !task.done)) draining ??= drain().finally(() => (draining = undefined));
  });
  process.on('exit', () => {
    for (const task of [...tasks].reverse()) {
      if (task.done) continue;
      task.done = true;
      try {
        task.runSync?.();
      } catch {
        // best effort while exiting
      }
    }
  });
}

/** Registers `run` to happen when this process has nothing left to do (or `runSync` when it exits abruptly). */
export function atProcessEnd(run: () => Promise<void>, runSync?: () => void): { cancel(): void } {
  hook();
  const task: Task = { run, runSync, done: false };
  tasks.push(task);
  return {
    cancel() {
      task.done = true;
    },
  };
}

/** Registers removal of `dir` at process end. */
export function removeAtProcessEnd(dir: string): void {
  const remove = (): void => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  atProcessEnd(async () => remove(), remove);
}
