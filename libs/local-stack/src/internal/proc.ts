import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { livingGroupMembers, signalGroup } from './groups';
import { pollUntil } from './poll';

/** What to run and how; see {@link ManagedProcess.launch}. */
export interface LaunchSpec {
  /** Short name used in messages ("nats-server", "postgres", "swift-proxy-server"). */
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user/group (postgres refuses to run as root). */
  uid?: number;
  gid?: number;
  /** The server's graceful shutdown signal (postgres: SIGINT, "fast shutdown"). Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long {@link ManagedProcess.stop} waits before escalating to SIGKILL. Default 20 s. */
  stopTimeoutMs?: number;
}

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;
let reaper: ChildProcess | undefined;
let reaperFailed = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a host that exits without stopping its servers: ask them to shut down. The servers run
  // in their own process groups, so they finish on their own; the reaper escalates to SIGKILL if needed.
  process.on('exit', () => {
    for (const managed of live) signalGroup(managed.pid, managed.stopSignal);
  });
}

/** Starts (once) the helper that stops our process groups if this process dies without doing so. */
function reaperChannel(): ChildProcess | undefined {
  if (reaper || reaperFailed) return reaper;
  const script = join(__dirname, 'reaper.js');
  if (!existsSync(script)) {
    reaperFailed = true;
    return undefined;
  }
  try {
    const child = spawn(process.execPath, [script], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    child.on('error', () => {
      reaperFailed = true;
      reaper = undefined;
    });
    child.on('exit', () => {
      reaper = undefined;
    });
    child.unref();
    child.channel?.unref();
    reaper = child;
  } catch {
    reaperFailed = true;
  }
  return reaper;
}

function tellReaper(message: { type: 'add' | 'remove'; pgid: number; signal?: NodeJS.Signals }): void {
  const channel = reaperChannel();
  if (!channel?.connected) return;
  try {
    channel.send(message, (error) => {
      if (error) reaperFailed = true;
    });
  } catch {
    reaperFailed = true;
  }
}

/**
 * A server process started in its own process group, with its output appended to a log file.
 * Stopping signals the whole group and waits until no living member is left, so nothing outlives it.
 * Every process is also stopped when the Node process exits (an `exit` hook), and by a small reaper
 * process if the Node process is killed outright.
 */
export class ManagedProcess {
  /** Resolves when the process (the group leader) has exited. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly spec: LaunchSpec,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        if (livingGroupMembers(pid).length === 0) this.forget();
        resolve(this.exitInfo);
      });
    });
  }

  /** The graceful shutdown signal for this server. */
  get stopSignal(): NodeJS.Signals {
    return this.spec.stopSignal ?? 'SIGTERM';
  }

  /** `true` until the group leader has exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Starts the process; rejects when it cannot be spawned at all (missing binary, permissions). */
  static async launch(spec: LaunchSpec): Promise<ManagedProcess> {
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      writeSync(fd, `\n=== ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        uid: spec.uid,
        gid: spec.gid,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`could not start ${spec.name} (${spec.command}): ${error.message}`, { cause: error })));
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${spec.name}: no pid`);
    child.unref();
    const managed = new ManagedProcess(child, pid, spec);
    live.add(managed);
    installExitHook();
    tellReaper({ type: 'add', pgid: pid, signal: managed.stopSignal });
    return managed;
  }

  /**
   * Throws when the process has already exited. Used as `abortIf` while waiting for readiness, so a
   * server that dies at start fails fast instead of running into the deadline.
   */
  throwIfExited(): void {
    const info = this.exitInfo;
    if (!info) return;
    throw new Error(`${this.spec.name} exited during start-up (${info.signal ? `signal ${info.signal}` : `exit code ${info.code}`})`);
  }

  /** Graceful stop: the server's stop signal to the group, then SIGKILL after the stop timeout. */
  async stop(): Promise<void> {
    if (this.groupGone()) return this.forget();
    this.child.ref();
    try {
      signalGroup(this.pid, this.stopSignal);
      const timeoutMs = this.spec.stopTimeoutMs ?? 20_000;
      try {
        await pollUntil(async () => this.groupGone(), { timeoutMs, intervalMs: 25, what: `${this.spec.name} to stop` });
      } catch {
        await this.kill();
      }
      await this.exited;
    } finally {
      this.child.unref();
    }
    this.forget();
  }

  /** Hard stop: SIGKILL to the whole group, then wait until every member is gone. */
  async kill(): Promise<void> {
    this.child.ref();
    try {
      signalGroup(this.pid, 'SIGKILL');
      await pollUntil(async () => this.groupGone(), { timeoutMs: 10_000, intervalMs: 25, what: `${this.spec.name} to die after SIGKILL` });
      await this.exited;
    } finally {
      this.child.unref();
    }
    this.forget();
  }

  private groupGone(): boolean {
    return livingGroupMembers(this.pid).length === 0;
  }

  private forget(): void {
    if (!live.delete(this)) return;
    tellReaper({ type: 'remove', pgid: this.pid });
  }
}
