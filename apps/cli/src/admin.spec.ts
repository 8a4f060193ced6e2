// Administration without servers: the requests each command sends (through the whole program, against a
// fake fetch), the precedence of flags, environment and contexts, the config file, and completion.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram, run, type CliIo } from './cli';
import { bashCompletion, fishCompletion } from './completion';
import { ConfigError, configPath, readConfig, redacted, selectedContext } from './contexts';
import * as api from './requests';

interface Call {
  method: string;
  url: string;
  authorization?: string;
  body?: unknown;
}

function harness(env: Record<string, string>, answer: (call: Call) => { status: number; body: unknown } = () => ({ status: 200, body: {} })) {
  const calls: Call[] = [];
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: false, columns: 120 },
    stderr: { write: (s: string) => ((stderr += s), true) },
    env,
    fetch: async (url, init) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const call: Call = { method: init?.method ?? 'GET', url: String(url), authorization: headers.authorization, body: init?.body === undefined ? undefined : JSON.parse(String(init.body)) };
      calls.push(call);
      const a = answer(call);
      return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': a.status >= 400 ? 'application/problem+json' : 'application/json' } });
    },
    now: () => new Date('2026-11-25T12:00:00.000Z'),
    sleep: async () => undefined,
  };
  return {
    calls,
    io,
    cli: async (...args: string[]) => {
      stdout = '';
      stderr = '';
      const code = await run(['node', 'tidemark', ...args], io);
      return { code, stdout, stderr };
    },
  };
}

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('admin: requests', () => {
  it('maps workspaces, devices, tokens, schemas and policy revisions onto gateway and journal-service routes', () => {
    assert.deepEqual(api.workspaceCreate('acme', { reason: 'r' }), { method: 'POST', path: '/v1/admin/workspaces', body: { workspace: 'acme', reason: 'r' } });
    assert.deepEqual(api.deviceEnrol('acme', 'cam-1', { site: 'lab' }), { method: 'POST', path: '/v1/admin/workspaces/acme/devices', body: { deviceId: 'cam-1', site: 'lab' } });
    assert.equal(api.pathWithQuery(api.deviceList('acme', { limit: 5, after: 'cam-1' })), '/v1/admin/workspaces/acme/devices?limit=5&after=cam-1');
    assert.deepEqual(api.deviceAction('reenrol', 'acme', 'cam 1', 'found'), { method: 'POST', path: '/v1/admin/workspaces/acme/devices/cam%201/reenrol', body: { reason: 'found' } });
    assert.deepEqual(api.tokenMint('ci', { roles: ['ops'], reason: 'r' }), { method: 'POST', path: '/v1/admin/operator-tokens', body: { name: 'ci', roles: ['ops'], reason: 'r' } });
    assert.deepEqual(api.tokenRevoke('t1', 'r'), { method: 'POST', path: '/v1/admin/operator-tokens/t1/revoke', body: { reason: 'r' } });
    assert.equal(api.schemaPublish({ type: 'photo', version: 2 }).path, '/v1/schemas/photo/2');
    assert.equal(api.schemaShow('photo').path, '/v1/schemas/photo');
    assert.equal(api.schemaShow('photo', 2).path, '/v1/schemas/photo/2');
    assert.deepEqual(api.policyPublish({ type: 'photo', revision: 3 }).path, '/v1/schemas/photo/revisions/3');
    assert.equal(api.policyList('photo').path, '/v1/schemas/photo/revisions');
    assert.equal(api.policyShow('photo', 3).path, '/v1/schemas/photo/revisions/3');
  });

  it('devices: the ops-api view stays `tidemark devices`; enrol takes --site and list --limit although `devices` declares them too', async () => {
    await withDir(async (dir) => {
      const h = harness({ TIDEMARK_CONFIG: join(dir, 'c.json'), TIDEMARK_GATEWAY_URL: 'http://gw:1', TIDEMARK_OPS_URL: 'http://ops:2', TIDEMARK_TOKEN: 'tok' }, (c) => ({
        status: c.method === 'POST' ? 201 : 200,
        body:
          c.method === 'POST'
            ? { workspace: 'acme', deviceId: 'cam-1', site: 'lab', accessToken: 'A', accessTokenExpiresAt: 'x', refreshToken: 'R', refreshTokenExpiresAt: 'y' }
            : { devices: [], next: null },
      }));
      assert.equal((await h.cli('devices', '--site', 'lab')).code, 0);
      assert.equal(h.calls[0]!.url, 'http://ops:2/v1/devices?site=lab');
      const out = join(dir, 'cam.json');
      const enrol = await h.cli('devices', 'enrol', 'acme', 'cam-1', '--site', 'lab', '--out', out);
      assert.equal(enrol.code, 0, enrol.stderr);
      assert.deepEqual([h.calls[1]!.url, h.calls[1]!.body, h.calls[1]!.authorization], ['http://gw:1/v1/admin/workspaces/acme/devices', { deviceId: 'cam-1', site: 'lab' }, 'Bearer tok']);
      assert.equal(statSync(out).mode & 0o777, 0o600);
      assert.equal(JSON.parse(readFileSync(out, 'utf8')).refreshToken, 'R');
      assert.doesNotMatch(enrol.stdout, /"?[AR]"?$/m);
      assert.equal((await h.cli('devices', 'list', 'acme', '--limit', '5')).code, 0);
      assert.equal(h.calls[2]!.url, 'http://gw:1/v1/admin/workspaces/acme/devices?limit=5');
      assert.equal((await h.cli('devices', 'enrol', 'acme', 'cam-2')).code, 2, '--out is required');
      assert.equal(h.calls.length, 3);
    });
  });
});

describe('admin: contexts', () => {
  it('the config path: $TIDEMARK_CONFIG, else ~/.config/tidemark/config.json', () => {
    assert.equal(configPath({ TIDEMARK_CONFIG: '/x/c.json', HOME: '/home/a' }), '/x/c.json');
    assert.equal(configPath({ HOME: '/home/a' }), '/home/a/.config/tidemark/config.json');
  });

  it('reads a config, refuses a malformed one, selects by name or current, never shows a token', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'c.json');
      assert.deepEqual(readConfig(path), { contexts: {} });
      writeFileSync(path, JSON.stringify({ current: 'prod', contexts: { prod: { gatewayUrl: 'http://g', token: 's' }, dev: {} } }));
      const config = readConfig(path);
      assert.equal(selectedContext(config, path)!.name, 'prod');
      assert.equal(selectedContext(config, path, 'dev')!.name, 'dev');
      assert.throws(() => selectedContext(config, path, 'qa'), /no context "qa" .*there are: prod, dev/);
      assert.deepEqual(redacted(config.contexts.prod!), { gatewayUrl: 'http://g', token: '(set)' });
      writeFileSync(path, JSON.stringify({ contexts: { prod: { gateway: 'http://g' } } }));
      assert.throws(
        () => readConfig(path),
        (e: Error) => e instanceof ConfigError && /\/contexts\/prod\/gateway: unknown/.test(e.message),
      );
      writeFileSync(path, '{');
      assert.throws(() => readConfig(path), ConfigError);
    });
  });

  it('precedence: a flag, then the environment, then the context, then the default; the token likewise', async () => {
    await withDir(async (dir) => {
      const config = join(dir, 'c.json');
      const tokenFile = join(dir, 'token');
      writeFileSync(tokenFile, 'from-file\n');
      const h = harness({ TIDEMARK_CONFIG: config }, () => ({ status: 200, body: { workspaces: [], types: [] } }));
      assert.equal((await h.cli('context', 'set', 'prod', '--gateway', 'http://ctx-gw:1', '--journal', 'http://ctx-j:2', '--token-file', tokenFile)).code, 0);
      assert.equal(statSync(config).mode & 0o777, 0o600);
      await h.cli('workspaces', 'list');
      await h.cli('schemas', 'list');
      assert.deepEqual(
        h.calls.map((c) => [c.url, c.authorization]),
        [
          ['http://ctx-gw:1/v1/admin/workspaces', 'Bearer from-file'],
          ['http://ctx-j:2/v1/schemas', 'Bearer from-file'],
        ],
      );
      const env = harness({ TIDEMARK_CONFIG: config, TIDEMARK_GATEWAY_URL: 'http://env-gw:3', TIDEMARK_TOKEN: 'from-env' }, () => ({ status: 200, body: { workspaces: [] } }));
      await env.cli('workspaces', 'list');
      await env.cli('--gateway-url', 'http://flag-gw:4', '--token', 'from-flag', 'workspaces', 'list');
      assert.deepEqual(
        env.calls.map((c) => [c.url, c.authorization]),
        [
          ['http://env-gw:3/v1/admin/workspaces', 'Bearer from-env'],
          ['http://flag-gw:4/v1/admin/workspaces', 'Bearer from-flag'],
        ],
      );
      // A token file may be the document `tokens mint --out` writes.
      writeFileSync(tokenFile, JSON.stringify({ token: 'minted', tokenId: 't1', expiresAt: 'x' }));
      const minted = harness({ TIDEMARK_CONFIG: config }, () => ({ status: 200, body: { workspaces: [] } }));
      await minted.cli('workspaces', 'list');
      assert.equal(minted.calls[0]!.authorization, 'Bearer minted');
      // No context and nothing else: the local default, no token.
      const none = harness({ TIDEMARK_CONFIG: join(dir, 'none.json') }, () => ({ status: 200, body: { types: [] } }));
      await none.cli('schemas', 'list');
      assert.deepEqual([none.calls[0]!.url, none.calls[0]!.authorization], ['http://127.0.0.1:3002/v1/schemas', undefined]);
      // A context with a malformed URL is a usage error naming it.
      writeFileSync(config, JSON.stringify({ current: 'bad', contexts: { bad: { opsUrl: 'ops:3005' } } }));
      const bad = await harness({ TIDEMARK_CONFIG: config }).cli('lag');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /context "bad": opsUrl: /);
    });
  });
});

describe('admin: completion', () => {
  it('is generated from the command table: every command and subcommand, their options', () => {
    const program = buildProgram(harness({}).io, { exitCode: 0, json: false });
    const bash = bashCompletion(program);
    for (const command of program.commands) assert.ok(bash.includes(`":${command.name()}") path="${command.name()}"`), command.name());
    assert.match(bash, /"context:set"\) path="context set"/);
    assert.match(bash, /^ {4}"context set"\) words="[^"]*--token-file[^"]*--json/m);
    assert.match(bash, /^complete -o default -F _tidemark_complete tidemark$/m);
    const fish = fishCompletion(program);
    assert.match(fish, /^complete -c tidemark -n '__fish_use_subcommand' -a workspaces /m);
    assert.match(fish, /^complete -c tidemark -n '__fish_seen_subcommand_from tokens; and __fish_seen_subcommand_from mint' -l roles -r /m);
  });
});
