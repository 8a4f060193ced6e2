// Shared by the deployment checks: where the repository is, the five apps and their config specs, and
// small parsers for what docker-compose.yml and the Kubernetes manifests contain (compose interpolation,
// Go durations, nats-server configuration, port mappings, URLs in healthchecks).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TProperties, TSchema } from '@sinclair/typebox';
import type { ConfigSpec } from '@tidemark/config';
import { gatewayConfigSpec } from '@tidemark/gateway';
import { journalServiceConfigSpec } from '@tidemark/journal-service';
import { mergeServiceConfigSpec } from '@tidemark/merge-service';
import { assetServiceConfigSpec } from '@tidemark/asset-service';
import { opsApiConfigSpec } from '@tidemark/ops-api';

/** The repository root: the nearest folder upwards holding a package.json with workspaces. */
export const repoRoot: string = (() => {
  let dir = __dirname;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && Array.isArray((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces)) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no workspace root above ${__dirname}`);
    dir = parent;
  }
})();

export const readRepoFile = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

export interface App {
  name: string;
  spec: ConfigSpec<TProperties>;
  /** Reads NATS (so it needs the nats server and the journal topology). */
  usesNats: boolean;
  usesPostgres: boolean;
  usesS3: boolean;
}

function app<P extends TProperties>(name: string, typed: ConfigSpec<P>): App {
  // Widened once here: `rules` takes the app's own config type, which a generic list cannot name.
  const spec = typed as unknown as ConfigSpec<TProperties>;
  const props = spec.schema.properties;
  return { name, spec, usesNats: 'NATS_URL' in props, usesPostgres: 'DATABASE_URL' in props, usesS3: 'S3_ENDPOINT' in props };
}

/** Every tidemark service, with the config spec its main.ts loads. */
export const APPS: readonly App[] = [
  app('gateway', gatewayConfigSpec),
  app('journal-service', journalServiceConfigSpec),
  app('merge-service', mergeServiceConfigSpec),
  app('asset-service', assetServiceConfigSpec),
  app('ops-api', opsApiConfigSpec),
];

/** journal-service declares the JetStream streams; every other service starts after it. */
export const TOPOLOGY_OWNER = 'journal-service';

export const variablesOf = (spec: ConfigSpec<TProperties>): string[] => Object.keys(spec.schema.properties);

/** Required properties that have no default: a deployment must set them. */
export function mustSet(spec: ConfigSpec<TProperties>): string[] {
  return (spec.schema.required ?? []).filter((name) => (spec.schema.properties[name] as TSchema & { default?: unknown }).default === undefined);
}

/** The default of one property (undefined when it has none). */
export const defaultOf = (spec: ConfigSpec<TProperties>, name: string): unknown => (spec.schema.properties[name] as (TSchema & { default?: unknown }) | undefined)?.default;

/**
 * Compose interpolation of one value: `$$` is a literal `$`; `${VAR}`, `$VAR`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}` and `${VAR+alt}` read `vars`.
 * Throws when a variable is neither in `vars` nor has a default, naming it.
 */
export function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(
    /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (match, dollar: string, braced?: string, op?: string, arg?: string, bare?: string) => {
      if (dollar === '$') return '$';
      const name = (braced ?? bare)!;
      const current = vars[name];
      const unsetOrEmpty = current === undefined || current === '';
      switch (op) {
        case ':-':
          return unsetOrEmpty ? interpolate(arg ?? '', vars) : current;
        case '-':
          return current === undefined ? interpolate(arg ?? '', vars) : current;
        case ':+':
          return unsetOrEmpty ? '' : interpolate(arg ?? '', vars);
        case '+':
          return current === undefined ? '' : interpolate(arg ?? '', vars);
        default:
          // ${VAR}, $VAR, ${VAR:?msg}, ${VAR?msg}: the variable itself must be supplied.
          if (current === undefined) throw new Error(`${match}: variable ${name} has no default and no plausible value in the test`);
          return current;
      }
    },
  );
}

/** Go duration (compose's `stop_grace_period`, `interval`, ...) in milliseconds. */
export function durationMs(text: string | number): number {
  if (typeof text === 'number') return text / 1e6; // nanoseconds
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}

export type NatsConf = { [key: string]: NatsValue };
export type NatsValue = string | NatsValue[] | NatsConf;

/**
 * Parses nats-server's configuration format (keys with `:`, `=` or a space, `{}` blocks, `[]` arrays,
 * `#` and `//` comments, quoted or bare values) into plain objects; keys are lower-cased as the server
 * treats them. `include` is not supported (none of ours use it).
 */
export function parseNatsConf(text: string): NatsConf {
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`nats conf line ${line}: ${what}`);
  };
  const skip = () => {
    for (;;) {
      const c = text[i];
      if (c === undefined) return;
      if (/[\s,;]/.test(c)) i++;
      else if (c === '#' || (c === '/' && text[i + 1] === '/')) while (i < text.length && text[i] !== '\n') i++;
      else return;
    }
  };
  const quoted = (): string => {
    const q = text[i++];
    const start = i;
    while (i < text.length && text[i] !== q) i++;
    if (i >= text.length) fail('unterminated string');
    return text.slice(start, i++);
  };
  const value = (): NatsValue => {
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      return block('}');
    }
    if (c === '[') {
      i++;
      const items: NatsValue[] = [];
      for (;;) {
        skip();
        if (text[i] === ']') {
          i++;
          return items;
        }
        if (i >= text.length) fail('unterminated array');
        items.push(value());
      }
    }
    if (c === '"' || c === "'") return quoted();
    const start = i;
    while (i < text.length && !/[\s,;\]}]/.test(text[i]!) && !(text[i] === '#' && /\s/.test(text[i - 1] ?? ' '))) i++;
    if (i === start) fail('value expected');
    return text.slice(start, i);
  };
  const block = (close: string | undefined): NatsConf => {
    const out: NatsConf = {};
    for (;;) {
      skip();
      if (i >= text.length) {
        if (close) fail(`missing ${close}`);
        return out;
      }
      if (text[i] === close) {
        i++;
        return out;
      }
      let key: string;
      if (text[i] === '"' || text[i] === "'") key = quoted();
      else {
        const start = i;
        while (i < text.length && !/[\s:={]/.test(text[i]!)) i++;
        key = text.slice(start, i);
      }
      if (!key) fail('key expected');
      while (text[i] === ' ' || text[i] === '\t') i++;
      if (text[i] === ':' || text[i] === '=') i++;
      out[key.toLowerCase()] = value();
    }
  };
  return block(undefined);
}

/** One block of a parsed nats conf (`jetstream`, `cluster`), or undefined. */
export function natsBlock(conf: NatsConf, name: string): NatsConf | undefined {
  const v = conf[name];
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** The first http(s) URL in a command (healthcheck, init container), parsed. */
export function urlIn(command: string): URL | undefined {
  const m = /https?:\/\/[^\s'"`)]+/.exec(command);
  return m ? new URL(m[0]) : undefined;
}

/** The port of a URL, with the scheme's default when it names none. */
export function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  return { 'http:': 80, 'https:': 443, 'nats:': 4222, 'tls:': 4222, 'postgres:': 5432, 'postgresql:': 5432 }[url.protocol] ?? NaN;
}
