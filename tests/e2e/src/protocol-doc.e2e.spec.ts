import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSlice, type SliceStack } from '@tidemark/testing';

/**
 * Runs every example of docs/protocol.md in order against a running slice: an ```http block is a request,
 * the ```json block after it (first line `// → <status>`) the answer. The answer's JSON is matched as a
 * subset (arrays item by item, "…" matches anything). `{{name}}` is a variable; `{{uuid:x}}` a fresh UUID
 * kept for its name; `# as: name` saves the answer for `{{name.field}}`; `# retry-until-match` retries
 * (the projection is asynchronous).
 */
interface Example {
  line: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  saveAs: string | undefined;
  retry: boolean;
  status: number;
  expected: unknown;
}

function parseExamples(markdown: string): Example[] {
  const blocks = [...markdown.matchAll(/```(http|json)\n([\s\S]*?)```/g)].map((m) => ({ kind: m[1]!, text: m[2]!, line: markdown.slice(0, m.index).split('\n').length }));
  const examples: Example[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!;
    if (block.kind !== 'http') continue;
    const answer = blocks[i + 1];
    assert.ok(answer?.kind === 'json', `docs/protocol.md:${block.line}: an http example needs a json answer after it`);
    const lines = block.text.split('\n');
    const directives = lines.filter((l) => l.startsWith('# '));
    const rest = lines.filter((l) => !l.startsWith('# '));
    const [method, path] = rest[0]!.split(' ');
    const blank = rest.indexOf('');
    const headerLines = rest.slice(1, blank < 0 ? undefined : blank);
    const body =
      blank < 0
        ? undefined
        : rest
            .slice(blank + 1)
            .join('\n')
            .trim() || undefined;
    const statusLine = /^\/\/ → (\d{3})/.exec(answer.text.split('\n')[0]!);
    assert.ok(statusLine, `docs/protocol.md:${answer.line}: the answer starts with "// → <status>"`);
    examples.push({
      line: block.line,
      method: method!,
      path: path!,
      headers: Object.fromEntries(headerLines.map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()])),
      body,
      saveAs: directives.map((d) => /^# as: (\w+)/.exec(d)?.[1]).find(Boolean),
      retry: directives.some((d) => d === '# retry-until-match'),
      status: Number(statusLine[1]),
      expected: JSON.parse(answer.text.split('\n').slice(1).join('\n')),
    });
    i++;
  }
  return examples;
}

/** Where `actual` differs from `expected` (a subset match), or undefined when it matches. */
function mismatch(actual: unknown, expected: unknown, at = ''): string | undefined {
  if (expected === '…') return actual === undefined ? `${at || '/'}: missing` : undefined;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected an array`;
    if (actual.length !== expected.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const problem = mismatch(actual[i], expected[i], `${at}/${i}`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') return `${at}: expected an object`;
    for (const [key, value] of Object.entries(expected)) {
      const problem = mismatch((actual as Record<string, unknown>)[key], value, `${at}/${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  return actual === expected ? undefined : `${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

describe('docs/protocol.md examples run as written', () => {
  let stack: SliceStack;
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'protocol.md'), 'utf8');

  before(async () => {
    stack = await startSlice(['journal-service', 'merge-service', 'gateway']);
  });
  after(async () => {
    await stack?.stop();
  });

  it('parses into request/answer pairs that cover auth, push, pull and receipts', () => {
    const examples = parseExamples(doc);
    assert.ok(examples.length >= 9, `found ${examples.length} examples`);
    for (const route of ['/v1/admin/workspaces', '/v1/auth/refresh', '/v1/events', '/v1/changes', '/v1/receipts/']) {
      assert.ok(
        examples.some((e) => e.path.startsWith(route)),
        `an example of ${route}`,
      );
    }
  });

  it('every example answers as documented', async () => {
    const vars: Record<string, unknown> = { operatorToken: stack.operatorHeaders.authorization!.slice('Bearer '.length), workspace: 'atlas' };
    const uuids = new Map<string, string>();
    const fill = (text: string): string =>
      text.replace(/\{\{([\w:.]+)\}\}/g, (_, name: string) => {
        if (name.startsWith('uuid:')) {
          if (!uuids.has(name)) uuids.set(name, randomUUID());
          return uuids.get(name)!;
        }
        const value = name.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], vars);
        assert.ok(value !== undefined, `no value for {{${name}}}`);
        return String(value);
      });
    for (const example of parseExamples(doc)) {
      const expected = JSON.parse(fill(JSON.stringify(example.expected)));
      const deadline = Date.now() + (example.retry ? 15_000 : 0);
      for (;;) {
        const response = await fetch(`${stack.url('gateway')}${fill(example.path)}`, {
          method: example.method,
          headers: Object.fromEntries(Object.entries(example.headers).map(([k, v]) => [k, fill(v)])),
          ...(example.body !== undefined ? { body: fill(example.body) } : {}),
        });
        const text = await response.text();
        const body: unknown = text ? JSON.parse(text) : undefined;
        const problem = response.status !== example.status ? `status ${response.status}, documented ${example.status}: ${text.slice(0, 300)}` : mismatch(body, expected);
        if (!problem) {
          if (example.saveAs) vars[example.saveAs] = body;
          break;
        }
        if (Date.now() >= deadline) assert.fail(`docs/protocol.md:${example.line} ${example.method} ${example.path}: ${problem}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });
});
