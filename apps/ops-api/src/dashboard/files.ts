import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';

/** A file the dashboard serves: its bytes, content type and entity tag. */
export interface DashboardFile {
  path: string;
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The nearest directory at or above `from` that holds a package.json: the package root, in src or dist alike. */
export function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json at or above ${from}`);
  }
}

/** Where ops-api's dashboard files are: `dashboard/` beside its package.json (outside `src`, so nothing compiles them). */
export const DASHBOARD_DIR = join(packageRoot(__dirname), 'dashboard');

/**
 * Reads every servable file under `dir` once (the dashboard is a few small static files shipped with the
 * service), keyed by its path relative to `dir` with forward slashes. Only known file types are served and
 * dot files are skipped, so nothing else in the directory can be fetched; a request path is only ever looked
 * up in this table, never joined onto the file system.
 */
export function loadDashboardFiles(dir: string = DASHBOARD_DIR): Map<string, DashboardFile> {
  if (!existsSync(dir)) throw new Error(`the dashboard directory ${dir} is missing (it ships with ops-api, beside its package.json)`);
  const files = new Map<string, DashboardFile>();
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      if (name.startsWith('.')) continue;
      const full = join(at, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const contentType = CONTENT_TYPES[extname(name).toLowerCase()];
      if (!contentType) continue;
      const body = readFileSync(full);
      const path = relative(dir, full).split(sep).join('/');
      files.set(path, { path, body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
    }
  };
  walk(dir);
  if (!files.has('index.html')) throw new Error(`the dashboard has no index.html in ${dir}`);
  return files;
}

/**
 * Headers of every dashboard response. The page loads only its own scripts and styles and talks only to
 * this origin (the API it is served with); revalidated on each load, so a new version shows at once.
 */
export const DASHBOARD_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};
