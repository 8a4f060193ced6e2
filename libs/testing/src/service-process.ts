import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';

export type ServiceName = 'gateway' | 'journal-service' | 'merge-service' | 'asset-service' | 'ops-api';

export interface ServiceProcess {
  name: ServiceName;
  url: string;
  readonly pid: number;
  /** Output so far (stdout and stderr), for assertions and failure messages. */
  output(): string;
  /** `running`, or how the process ended (`exited with code 1`, `killed by SIGKILL`). */
  state(): string;
  /** Resolves with the exit code and signal when the process exits. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then wait for exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The compiled entry point of an app (`apps/<name>/dist/main.js`). */
export function serviceEntry(name: ServiceName): string {
  return join(dirname(require.resolve(`@tidemark/${name}/package.json`)), 'dist', 'main.js');
}

/**
 * Starts an app as its own process (as production runs it) and waits until `/readyz` answers 200.
 * `env` is added to this process's environment; `HTTP_PORT` must be in it.
 */
export async function startServiceProcess(name: ServiceName, env: Record<string, string>, options: { readyTimeoutMs?: number; waitReady?: boolean } = {}): Promise<ServiceProcess> {
  const port = env.HTTP_PORT;
  if (!port) throw new Error('startServiceProcess needs HTTP_PORT in env');
  // TIDEMARK_PROFILE_DIR (benchmarks): each service writes a V8 CPU profile there when it exits.
  const profile = process.env.TIDEMARK_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TIDEMARK_PROFILE_DIR}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, serviceEntry(name)], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitedAlready = false;
  let ended = 'running';
  void exit.then(({ code, signal }) => {
    exitedAlready = true;
    ended = signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  const url = `http://127.0.0.1:${port}`;
  const proc: ServiceProcess = {
    name,
    url,
    pid: child.pid ?? -1,
    output: () => output,
    state: () => ended,
    exited: () => exit,
    kill: async () => {
      if (!exitedAlready) child.kill('SIGKILL');
      await exit;
    },
    stop: async () => {
      if (!exitedAlready) child.kill('SIGTERM');
      return exit;
    },
  };
  if (options.waitReady === false) return proc;
  // A deadline, not a wait: on a loaded 2-core machine a cold start (module loading, telemetry, migrations)
  // has been seen to take more than 30 s, so the default is generous and a ready service returns at once.
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exitedAlready) throw new Error(`${name} exited before it was ready:\n${output.slice(-4000)}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${name} was not ready within ${readyTimeoutMs} ms:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
