// Named contexts: which servers and which operator token a command uses, kept in a config file
// (`$TIDEMARK_CONFIG`, else `~/.config/tidemark/config.json`, mode 0600). A command's connection is
// resolved flag first, then environment, then the current (or `--context`) context, then the local default.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** One context: the servers of one deployment and the operator token to use with them. */
export interface TidemarkContext {
  gatewayUrl?: string;
  opsUrl?: string;
  journalUrl?: string;
  assetsUrl?: string;
  /** The token itself (prefer tokenFile: the config file then holds no secret). */
  token?: string;
  /** A file holding the token, or the JSON `tokens mint --out` writes (read on every command, so a rotated token needs no config change). */
  tokenFile?: string;
}

export interface TidemarkConfig {
  current?: string;
  contexts: Record<string, TidemarkContext>;
}

export const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const CONTEXT_KEYS: readonly (keyof TidemarkContext)[] = ['gatewayUrl', 'opsUrl', 'journalUrl', 'assetsUrl', 'token', 'tokenFile'];

/** A config file that cannot be read or is not a config: the command refuses (exit 2) naming the file. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Where the config file is: `$TIDEMARK_CONFIG`, else `$HOME/.config/tidemark/config.json`. */
export function configPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.TIDEMARK_CONFIG || join(env.HOME || homedir(), '.config', 'tidemark', 'config.json');
}

/** The config at `path`; no file is an empty config. */
export function readConfig(path: string): TidemarkConfig {
  if (!existsSync(path)) return { contexts: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new ConfigError(`${path}: not a readable JSON config (${(error as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${path}: must be a JSON object { "current", "contexts" }`);
  const d = doc as { current?: unknown; contexts?: unknown };
  if (d.current !== undefined && typeof d.current !== 'string') throw new ConfigError(`${path}: /current must be a context name`);
  if (d.contexts !== undefined && (typeof d.contexts !== 'object' || d.contexts === null || Array.isArray(d.contexts))) throw new ConfigError(`${path}: /contexts must be an object of named contexts`);
  const contexts: Record<string, TidemarkContext> = {};
  for (const [name, value] of Object.entries((d.contexts ?? {}) as Record<string, unknown>)) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${path}: /contexts/${name} must be an object`);
    const context: TidemarkContext = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (!(CONTEXT_KEYS as readonly string[]).includes(key)) throw new ConfigError(`${path}: /contexts/${name}/${key}: unknown (a context holds ${CONTEXT_KEYS.join(', ')})`);
      if (typeof v !== 'string') throw new ConfigError(`${path}: /contexts/${name}/${key} must be a string`);
      context[key as keyof TidemarkContext] = v;
    }
    contexts[name] = context;
  }
  return { ...(typeof d.current === 'string' ? { current: d.current } : {}), contexts };
}

/** Writes the config with mode 0600 (its directory 0700 when created), replacing the file in one rename. */
export function writeConfig(path: string, config: TidemarkConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** The context a command uses: `--context`, else the current one; none when neither is set. */
export function selectedContext(config: TidemarkConfig, path: string, named?: string): { name: string; context: TidemarkContext } | undefined {
  const name = named ?? config.current;
  if (name === undefined) return undefined;
  const context = config.contexts[name];
  if (!context) {
    const known = Object.keys(config.contexts);
    throw new ConfigError(`no context "${name}" in ${path}${known.length > 0 ? ` (there are: ${known.join(', ')})` : ' (it has none; add one with tidemark context set)'}`);
  }
  return { name, context };
}

/** The operator token of a context: its token, or the first line of its token file. */
export function contextToken(name: string, context: TidemarkContext): string | undefined {
  if (context.token) return context.token;
  if (!context.tokenFile) return undefined;
  try {
    const text = readFileSync(context.tokenFile, 'utf8').trim();
    if (!text) throw new Error('the file is empty');
    return text.startsWith('{') ? tokenOfDocument(text) : text;
  } catch (error) {
    throw new ConfigError(`context "${name}": cannot read its token file ${context.tokenFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The token of a `tokens mint --out` document (`{ "token", "tokenId", "expiresAt" }`). */
function tokenOfDocument(text: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch {
    throw new Error('it starts with { but is not JSON');
  }
  const token = (doc as { token?: unknown } | null)?.token;
  if (typeof token !== 'string' || token === '') throw new Error('a JSON token file needs a "token" string (as tokens mint --out writes it)');
  return token;
}

/** A context as `context show` prints it: a token is never shown, only that there is one. */
export function redacted(context: TidemarkContext): TidemarkContext {
  return context.token ? { ...context, token: '(set)' } : { ...context };
}
