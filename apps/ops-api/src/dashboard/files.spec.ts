import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { DASHBOARD_DIR, loadDashboardFiles, packageRoot } from './files';

describe('dashboard files', () => {
  const files = loadDashboardFiles();

  it('are found beside ops-api’s package.json, outside the compiled output', () => {
    assert.equal(DASHBOARD_DIR, join(packageRoot(__dirname), 'dashboard'));
    assert.match(DASHBOARD_DIR, /apps[/\\]ops-api[/\\]dashboard$/);
  });

  it('hold everything the page loads: each file index.html names and each module a script imports', () => {
    const index = files.get('index.html')!.body.toString('utf8');
    const named = [...index.matchAll(/(?:src|href)="\/dashboard\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(named.includes('app.js') && named.includes('style.css'), named.join(', '));
    for (const path of named) assert.ok(files.has(path), `index.html names ${path}`);
    let imports = 0;
    for (const [path, file] of files) {
      if (!path.endsWith('.js')) continue;
      for (const m of file.body.toString('utf8').matchAll(/^import [^'"]*['"](\.{1,2}\/[^'"]+)['"];$/gm)) {
        const target = posix.normalize(posix.join(posix.dirname(path), m[1]!));
        assert.ok(files.has(target), `${path} imports ${m[1]}, which the dashboard does not serve`);
        imports += 1;
      }
    }
    assert.ok(imports >= 10, `the modules import each other (${imports} imports)`);
  });

  it('serve known types only, with their content type, and skip dot files', () => {
    assert.equal(files.get('app.js')!.contentType, 'text/javascript; charset=utf-8');
    assert.equal(files.get('pages/parked.js')!.contentType, 'text/javascript; charset=utf-8');
    assert.equal(files.get('style.css')!.contentType, 'text/css; charset=utf-8');
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    try {
      mkdirSync(join(dir, 'pages'));
      writeFileSync(join(dir, 'pages', 'a.js'), 'export {};');
      assert.throws(() => loadDashboardFiles(dir), /no index\.html/);
      writeFileSync(join(dir, 'index.html'), '<!doctype html>');
      writeFileSync(join(dir, '.secret.js'), 'no');
      writeFileSync(join(dir, 'notes.txt'), 'no');
      writeFileSync(join(dir, 'server.ts'), 'no');
      const table = loadDashboardFiles(dir);
      assert.deepEqual([...table.keys()], ['index.html', 'pages/a.js']);
      assert.match(table.get('index.html')!.etag, /^"[A-Za-z0-9_-]{27}"$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
