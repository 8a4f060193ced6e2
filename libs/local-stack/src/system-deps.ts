import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { swiftPython, swiftPythonEnv } from './internal/swift-python';
import { which } from './internal/which';
import { findPostgresBinDir } from './postgres';

const execFileAsync = promisify(execFile);

/** A server the local stack can start. */
export type SystemDependency = 'nats' | 'postgres' | 's3';

/** Options for {@link ensureSystemDeps}. */
export interface EnsureSystemDepsOptions {
  /** Install missing packages with apt-get when running as root on Debian/Ubuntu. Default `true`. */
  install?: boolean;
  /** Where progress lines go. Default `console.log`. */
  log?: (line: string) => void;
}

/** Debian/Ubuntu packages that provide each server. */
export const SYSTEM_PACKAGES: Readonly<Record<SystemDependency, readonly string[]>> = {
  nats: ['nats-server'],
  postgres: ['postgresql'],
  s3: ['swift', 'swift-proxy', 'swift-account', 'swift-container', 'swift-object', 'python3-swift', 'memcached'],
};

/** What is missing for one dependency, in words. */
export interface MissingDependency {
  need: SystemDependency;
  missing: string[];
}

async function swiftImportable(): Promise<boolean> {
  try {
    await execFileAsync(swiftPython(), ['-c', 'import swift.common.wsgi, swift.common.middleware.s3api.s3api'], { timeout: 30_000, env: swiftPythonEnv() });
    return true;
  } catch {
    return false;
  }
}

/** Lists what each requested dependency lacks on this machine (empty when everything is there). */
export async function findMissingSystemDeps(needs: readonly SystemDependency[]): Promise<MissingDependency[]> {
  const result: MissingDependency[] = [];
  for (const need of new Set(needs)) {
    const missing: string[] = [];
    if (need === 'nats' && !which('nats-server')) missing.push('nats-server');
    if (need === 'postgres' && !findPostgresBinDir()) missing.push('initdb and postgres');
    if (need === 's3') {
      for (const binary of ['memcached', 'swift-proxy-server', 'swift-account-server', 'swift-container-server', 'swift-object-server']) {
        if (!which(binary)) missing.push(binary);
      }
      if (missing.length === 0 && !(await swiftImportable())) missing.push('the python3 swift module with s3api');
    }
    if (missing.length > 0) result.push({ need, missing });
  }
  return result;
}

/** The apt-get command line that installs what `missing` lacks. */
export function installCommand(missing: readonly MissingDependency[]): string {
  const packages = [...new Set(missing.flatMap((m) => SYSTEM_PACKAGES[m.need]))];
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${packages.join(' ')}`;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit code ${code}`})`))));
  });
}

let aptUpdated: Promise<void> | undefined;

/**
 * Makes sure the binaries for the requested servers exist. When some are missing and this process is root
 * on Debian/Ubuntu (`/usr/bin/apt-get` exists), runs `apt-get update` (once per process) and
 * `apt-get install -y <packages>`, printing what it installs. Otherwise throws an Error whose message
 * holds the exact command to run.
 */
export async function ensureSystemDeps(needs: ReadonlyArray<SystemDependency>, options: EnsureSystemDepsOptions = {}): Promise<void> {
  const missing = await findMissingSystemDeps(needs);
  if (missing.length === 0) return;
  const what = missing.map((m) => `${m.need} (${m.missing.join(', ')})`).join('; ');
  const command = installCommand(missing);
  const hasApt = existsSync('/usr/bin/apt-get');
  const isRoot = process.getuid?.() === 0;
  if (!hasApt) {
    const packages = [...new Set(missing.flatMap((m) => SYSTEM_PACKAGES[m.need]))].join(' ');
    throw new Error(`The local stack needs ${what}. Install them with your package manager (the Debian/Ubuntu packages are: ${packages}).`);
  }
  if (!isRoot || options.install === false) {
    throw new Error(`The local stack needs ${what}. Install them with: sudo sh -c '${command}'`);
  }
  const log = options.log ?? ((line: string) => console.log(line));
  const packages = [...new Set(missing.flatMap((m) => SYSTEM_PACKAGES[m.need]))];
  log(`[local-stack] missing ${what}; installing with apt-get: ${packages.join(' ')}`);
  aptUpdated ??= run('apt-get', ['update']).catch((error: unknown) => {
    aptUpdated = undefined;
    throw error;
  });
  await aptUpdated;
  await run('apt-get', ['install', '-y', ...packages]);
  const still = await findMissingSystemDeps(needs);
  if (still.length > 0) {
    throw new Error(`apt-get installed ${packages.join(' ')} but the local stack still lacks ${still.map((m) => `${m.need} (${m.missing.join(', ')})`).join('; ')}`);
  }
  log(`[local-stack] installed ${packages.join(' ')}`);
}
