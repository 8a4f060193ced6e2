// The README's quick-start example, run as written (bash, curl and node) against the services: only the
// gateway URL differs from what `npm start` gives, and the admin token file holds the slice's token.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { eventually, startSlice, type SliceStack } from '@tidemark/testing';

const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Architecture'));
const example = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((block) => block.includes('/v1/events'));
const README_URL = 'http://127.0.0.1:3001';

/** Concatenated JSON documents (curl -s prints no newline between answers), one by one. */
function documents(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if ((c === '}' || c === ']') && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}

/** The JSON of the README comment that follows the line matching `after`. */
function answerAfter(script: string, after: RegExp): string {
  const lines = script.split('\n');
  const at = lines.findIndex((line) => after.test(line));
  const comment = lines.slice(at + 1).find((line) => line.startsWith('# {'));
  assert.ok(comment, `no answer comment after ${after}`);
  return comment.slice(2);
}

describe('README quick start example', () => {
  let stack: SliceStack;
  let home: string;

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
    // What `npm start` does before it prints the example: the admin token in .tidemark/, the default workspace.
    home = mkdtempSync(join(tmpdir(), 'tidemark-readme-'));
    mkdirSync(join(home, '.tidemark'));
    writeFileSync(join(home, '.tidemark', 'admin-token'), `${await stack.operatorToken('local-admin', ['ops', 'admin'])}\n`);
    const created = await fetch(`${stack.url('gateway')}/v1/admin/workspaces`, {
      method: 'POST',
      headers: { ...stack.operatorHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ workspace: 'default', reason: 'as npm start does' }),
    });
    assert.ok(created.ok, `${created.status} ${await created.clone().text()}`);
    assert.deepEqual(await created.json(), { workspace: 'default', created: true });
  });
  after(async () => {
    await stack?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('registers a device, pushes as it and pulls the change back, answering what the README shows', async () => {
    assert.ok(example, 'the quick start has no example that pushes');
    assert.ok(example.includes(README_URL), `the example does not use ${README_URL}`);
    const script = example.replaceAll(README_URL, stack.url('gateway'));
    const run = (commands: string, env: Record<string, string> = {}) =>
      execFileSync('bash', ['-euo', 'pipefail', '-c', commands], { cwd: home, encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...env } });

    // The whole example as written; the token it obtained is printed last, for the pull below.
    const output = run(`${script}\necho; echo "TOKEN=$TOKEN"`);
    const token = /^TOKEN=(\S+)$/m.exec(output)?.[1];
    assert.match(token ?? '', /^eyJ/, `the example got no access token:\n${output}`);
    const [pushed] = documents(output) as [{ results: { eventId: string; status: string; seq: number }[] }];
    const shown = JSON.parse(answerAfter(script, /\/v1\/events/).replace('0b6f…', '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69'));
    assert.deepEqual(pushed, shown, 'the push answers what the README shows');

    // The pull, as written, once merge-service has projected the event.
    const pullLine = script.split('\n').find((line) => line.includes('/v1/changes'))!;
    const shownPull = answerAfter(script, /\/v1\/changes/);
    const pulled = await eventually(
      () => {
        const [page] = documents(run(pullLine, { TOKEN: token! })) as [{ changes: Record<string, unknown>[]; conflicts: unknown[]; next: string; hasMore: boolean }];
        assert.equal(page.changes.length, 1, JSON.stringify(page));
        return page;
      },
      { message: 'the pushed change to be pulled' },
    );
    const change = pulled.changes[0]!;
    assert.deepEqual(
      { cursor: change.cursor, entity: change.entity, version: change.version, state: change.state },
      { cursor: '1', entity: { type: 'annotation', id: 'img-42' }, version: 1, state: { label: 'cat' } },
    );
    assert.match(shownPull, /"cursor":"1","entity":\{"type":"annotation","id":"img-42"\},"version":1,"state":\{"label":"cat"\}/, 'the README shows that change');
    const { changes: _, ...rest } = pulled;
    assert.deepEqual(rest, JSON.parse(shownPull.replace(/"changes":\[.*?…\}\],/, '')), 'the rest of the page is what the README shows');
  });
});
