// The built `tidemark` CLI's onboarding and administration commands as a child process against real
// journal-service and gateway (fresh NATS and Postgres): a workspace created, a device enrolled to a 0600
// file whose token pushes, listed, revoked (its push then gets 401) and re-enrolled; an operator token
// minted and used, then revoked; a schema and a policy revision published from files and shown; contexts
// choosing the server and the token; and a completion script bash accepts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDevice, push, startSlice, type SliceStack } from '@tidemark/testing';

const MAIN = join(__dirname, 'main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const exec = (file: string, args: string[], env: Record<string, string | undefined>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

describe('tidemark CLI administration end to end', () => {
  let stack: SliceStack;
  let dir: string;
  let env: Record<string, string>;
  let adminToken: string;

  const tidemark = (args: string[], overrides: Record<string, string | undefined> = {}) => exec(process.execPath, [MAIN, ...args], { ...env, ...overrides });
  const ok = async (args: string[], overrides: Record<string, string | undefined> = {}): Promise<Run> => {
    const run = await tidemark(args, overrides);
    assert.equal(run.code, 0, `tidemark ${args.join(' ')}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return run;
  };
  const json = async <T = any>(args: string[], overrides: Record<string, string | undefined> = {}): Promise<T> => JSON.parse((await ok(['--json', ...args], overrides)).stdout) as T;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    stack = await startSlice(['journal-service', 'gateway', 'ops-api']);
    dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-admin-'));
    adminToken = stack.operatorHeaders.authorization!.replace(/^Bearer /, '');
    env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      TIDEMARK_CONFIG: join(dir, 'config.json'),
      TIDEMARK_GATEWAY_URL: stack.url('gateway'),
      TIDEMARK_OPS_URL: stack.url('ops-api'),
      TIDEMARK_JOURNAL_URL: stack.url('journal-service'),
      TIDEMARK_TOKEN: adminToken,
    };
  });
  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('workspaces and devices: create, enrol to a 0600 file (never over one), push with its token, list, revoke (push 401), re-enrol', async () => {
    assert.deepEqual(await json(['workspaces', 'create', 'acme', '--name', 'Acme', '--reason', 'new customer']), { workspace: 'acme', created: true });
    assert.match((await ok(['workspaces', 'create', 'acme'])).stdout, /^exists already: workspace acme$/m);
    const workspaces = await json(['workspaces', 'list']);
    assert.ok(
      workspaces.workspaces.some((w: any) => w.workspace === 'acme'),
      JSON.stringify(workspaces),
    );

    const file = join(dir, 'laptop.json');
    const enrolled = await json(['devices', 'enrol', 'acme', 'laptop-7', '--site', 'lab', '--label', 'Ana’s laptop', '--out', file]);
    assert.deepEqual([enrolled.workspace, enrolled.deviceId, enrolled.site, enrolled.file], ['acme', 'laptop-7', 'lab', file]);
    assert.equal(enrolled.accessToken, undefined, 'tokens go to the file, not stdout');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const credentials = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(typeof credentials.accessToken, 'string');
    assert.equal(typeof credentials.refreshToken, 'string');

    const before = readFileSync(file, 'utf8');
    const again = await tidemark(['devices', 'enrol', 'acme', 'laptop-8', '--out', file]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; refusing to overwrite it \(--force to replace it\)/);
    assert.equal(readFileSync(file, 'utf8'), before, 'left as it was');
    assert.ok(!(await json(['devices', 'list', 'acme'])).devices.some((d: any) => d.deviceId === 'laptop-8'), 'nothing enrolled');

    const refused = await tidemark(['devices', 'enrol', 'nowhere', 'laptop-9', '--out', join(dir, 'nowhere.json')]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^tidemark: .+ \(404\)$/m);
    assert.ok(!existsSync(join(dir, 'nowhere.json')), 'no file left for a refused enrolment');
    const invalid = await tidemark(['devices', 'enrol', 'acme', 'bad id!', '--out', join(dir, 'bad.json')]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /\(400\)\n(.*\n)* {2}\/deviceId: /);

    const laptop = new FakeDevice('laptop-7');
    assert.equal((await push(stack.url('gateway'), [laptop.upsert('annotation', 'img-1', { label: 'cat' })], bearer(credentials.accessToken))).status, 200);

    const listed = await json(['devices', 'list', 'acme']);
    assert.deepEqual(
      listed.devices.map((d: any) => [d.deviceId, d.status, d.site, d.label]),
      [['laptop-7', 'active', 'lab', 'Ana’s laptop']],
    );
    assert.match((await ok(['devices', 'list', 'acme', '--limit', '5'])).stdout, /^laptop-7 +active +1 +lab /m);

    const noReason = await tidemark(['devices', 'revoke', 'acme', 'laptop-7']);
    assert.equal(noReason.code, 2);
    const revoked = await json(['devices', 'revoke', 'acme', 'laptop-7', '--reason', 'stolen']);
    assert.equal(revoked.status, 'revoked');
    assert.equal((await push(stack.url('gateway'), [laptop.upsert('annotation', 'img-2', { label: 'dog' })], bearer(credentials.accessToken))).status, 401);

    const newFile = join(dir, 'laptop-2.json');
    assert.match((await ok(['devices', 'reenrol', 'acme', 'laptop-7', '--reason', 'found', '--out', newFile])).stdout, /^re-enrolled acme\/laptop-7 \(site lab\): credentials written to /);
    assert.equal(statSync(newFile).mode & 0o777, 0o600);
    const renewed = JSON.parse(readFileSync(newFile, 'utf8'));
    assert.equal((await push(stack.url('gateway'), [laptop.upsert('annotation', 'img-2', { label: 'dog' })], bearer(renewed.accessToken))).status, 200);
    // --force replaces a file, still 0600.
    writeFileSync(file, 'old', { mode: 0o644 });
    await ok(['devices', 'reenrol', 'acme', 'laptop-7', '--reason', 'rotate', '--out', file, '--force']);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(typeof JSON.parse(readFileSync(file, 'utf8')).accessToken, 'string');
  });

  it('operator tokens: mint one (ops role) and use it, an ops token cannot administer (403), revoke it (401)', async () => {
    const minted = await json(['tokens', 'mint', 'ci-bot', '--roles', 'ops', '--ttl', '1h', '--reason', 'pipeline']);
    assert.equal(typeof minted.token, 'string');
    assert.ok(Date.parse(minted.expiresAt) - Date.now() <= 3600_000 + 60_000);
    const journal = await fetch(`${stack.url('journal-service')}/v1/schemas`, { headers: bearer(minted.token) });
    assert.equal(journal.status, 200);
    const forbidden = await tidemark(['workspaces', 'list'], { TIDEMARK_TOKEN: minted.token });
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /\(403\)/);

    const admin = await json(['tokens', 'mint', 'second-admin', '--roles', 'ops,admin', '--reason', 'handover']);
    assert.ok((await json(['workspaces', 'list'], { TIDEMARK_TOKEN: admin.token })).workspaces.length >= 1, 'the minted admin token administers');

    const tokenFile = join(dir, 'token.json');
    const written = await json(['tokens', 'mint', 'cron', '--reason', 'nightly', '--out', tokenFile]);
    assert.equal(written.token, undefined);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(tokenFile, 'utf8')).tokenId, written.tokenId);

    assert.deepEqual(await json(['tokens', 'revoke', admin.tokenId, '--reason', 'handover done']), { tokenId: admin.tokenId, revoked: true });
    const after = await tidemark(['workspaces', 'list'], { TIDEMARK_TOKEN: admin.token });
    assert.equal(after.code, 1);
    assert.match(after.stderr, /\(401\)/);
    const badTtl = await tidemark(['tokens', 'mint', 'x', '--ttl', '10s', '--reason', 'r']);
    assert.equal(badTtl.code, 2);
  });

  it('schemas and policy revisions: publish from a file (again: unchanged), list, show; a refusal names the pointer', async () => {
    const schemaFile = join(dir, 'gauge-v1.json');
    writeFileSync(schemaFile, JSON.stringify({ type: 'gauge', version: 1, onDeleteConflict: 'delete-wins', fields: { caption: { policy: 'lww', valueType: 'string' } } }));
    assert.match((await ok(['schemas', 'publish', schemaFile])).stdout, /^published gauge v1$/m);
    assert.match((await ok(['schemas', 'publish', schemaFile])).stdout, /already published with this definition/);
    const list = await json(['schemas', 'list']);
    assert.deepEqual(
      list.types.find((t: any) => t.type === 'gauge').versions.map((v: any) => v.version),
      [1],
    );
    assert.match((await ok(['schemas', 'list'])).stdout, /^gauge +1 +1$/m);
    assert.deepEqual((await json(['schemas', 'show', 'gauge', '1'])).definition.fields.caption, { policy: 'lww', valueType: 'string' });
    assert.equal((await json(['schemas', 'show', 'gauge'])).versions.length, 1);
    const missing = await tidemark(['schemas', 'show', 'gauge', '9']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no published schema version 9/);

    const changed = join(dir, 'gauge-v2-bad.json');
    writeFileSync(changed, JSON.stringify({ type: 'gauge', version: 2, onDeleteConflict: 'delete-wins', fields: { caption: { policy: 'lww', valueType: 'number' } } }));
    const incompatible = await tidemark(['schemas', 'publish', changed]);
    assert.equal(incompatible.code, 1);
    assert.match(incompatible.stderr, /\(400\)\n {2}the schema is not compatible.*\n {2}\/fields\/caption/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"version": 1}');
    assert.equal((await tidemark(['schemas', 'publish', notJson])).code, 2);

    const revisionFile = join(dir, 'gauge-r2.json');
    writeFileSync(revisionFile, JSON.stringify({ type: 'gauge', revision: 2, fields: { caption: { policy: 'max' } }, description: 'largest caption wins' }));
    assert.match((await ok(['policies', 'publish', revisionFile])).stdout, /^published gauge policy revision 2$/m);
    assert.deepEqual(
      (await json(['policies', 'list', 'gauge'])).revisions.map((r: any) => r.revision),
      [2],
    );
    assert.match((await ok(['policies', 'list', 'gauge'])).stdout, /^ +2 +\S+ +largest caption wins$/m);
    assert.equal((await json(['policies', 'show', 'gauge', '2'])).definition.description, 'largest caption wins');
  });

  it('contexts: set (0600 file), use, list, show; flags beat the environment, which beats the context; token files', async () => {
    const port = await closedPort();
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
    const noEnv = { TIDEMARK_GATEWAY_URL: undefined, TIDEMARK_JOURNAL_URL: undefined, TIDEMARK_TOKEN: undefined };

    assert.match(
      (await ok(['context', 'set', 'local', '--gateway', stack.url('gateway'), '--journal', stack.url('journal-service'), '--token-file', tokenFile])).stdout,
      /^context local added \(current\)/,
    );
    await ok(['context', 'set', 'dead', '--gateway', `http://127.0.0.1:${port}`, '--context-token', 'not-a-token']);
    assert.equal(statSync(env.TIDEMARK_CONFIG!).mode & 0o777, 0o600);
    const config = JSON.parse(readFileSync(env.TIDEMARK_CONFIG!, 'utf8'));
    assert.equal(config.current, 'local');

    // The current context's server and token file.
    assert.ok((await json(['workspaces', 'list'], noEnv)).workspaces.length >= 1);
    await ok(['context', 'use', 'dead']);
    const dead = await tidemark(['workspaces', 'list'], noEnv);
    assert.equal(dead.code, 3);
    assert.match(dead.stderr, new RegExp(`cannot reach gateway at http://127.0.0.1:${port}`));
    // --context picks another for one command; the environment beats the context; a flag beats the environment.
    assert.ok((await json(['--context', 'local', 'schemas', 'list'], noEnv)).types.length >= 1);
    assert.equal((await tidemark(['workspaces', 'list'], { ...noEnv, TIDEMARK_GATEWAY_URL: stack.url('gateway'), TIDEMARK_TOKEN: adminToken })).code, 0);
    assert.equal((await tidemark(['workspaces', 'list'], { ...noEnv, TIDEMARK_GATEWAY_URL: stack.url('gateway') })).code, 1, 'the context’s token (not-a-token) is refused');
    assert.equal((await tidemark(['--gateway-url', `http://127.0.0.1:${port}`, 'workspaces', 'list'], { TIDEMARK_GATEWAY_URL: stack.url('gateway') })).code, 3);

    const listed = await json(['context', 'list']);
    assert.deepEqual([listed.current, listed.contexts.map((c: any) => c.name)], ['dead', ['local', 'dead']]);
    assert.equal(listed.contexts[1].token, '(set)', 'a token is never printed');
    assert.match((await ok(['context', 'list'])).stdout, /^\* +dead /m);
    assert.match((await ok(['context', 'show', 'local'])).stdout, new RegExp(`^token +from ${tokenFile}$`, 'm'));
    const unknown = await tidemark(['context', 'use', 'staging']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no context "staging" .*\(there are: local, dead\)/);
    const missingToken = await tidemark(['--context', 'local', 'workspaces', 'list'], { ...noEnv });
    assert.equal(missingToken.code, 0);
    // A token file may be what `tokens mint --out` wrote (an ops token: it reads schemas).
    await ok(['context', 'set', 'cron', '--journal', stack.url('journal-service'), '--token-file', join(dir, 'token.json')]);
    assert.ok((await json(['--context', 'cron', 'schemas', 'list'], noEnv)).types.length >= 1);
    rmSync(tokenFile);
    const gone = await tidemark(['--context', 'local', 'workspaces', 'list'], noEnv);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /context "local": cannot read its token file .*ENOENT/);
  });

  it('completion: bash, zsh and fish scripts from the command table; bash -n accepts the bash one', async () => {
    const bash = (await ok(['completion', 'bash'])).stdout;
    for (const word of ['"devices:enrol") path="devices enrol"', '"tokens:mint"', '"context:use"', '"replay:swap"', '--out', '--gateway-url']) assert.ok(bash.includes(word), word);
    const file = join(dir, 'tidemark.bash');
    writeFileSync(file, bash);
    const check = await exec('bash', ['-n', file], { PATH: env.PATH });
    assert.equal(check.code, 0, check.stderr);
    // The script completes: subcommands of `devices`, options of `devices enrol`.
    const complete = async (line: string[]) => {
      const words = line.map((w) => `'${w}'`).join(' ');
      const run = await exec('bash', ['-c', `source '${file}'; COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}; _tidemark_complete; printf '%s\\n' "\${COMPREPLY[@]}"`], { PATH: env.PATH });
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.trim().split('\n');
    };
    assert.deepEqual((await complete(['tidemark', 'devices', 're'])).sort(), ['reenrol', 'revoke']);
    assert.ok((await complete(['tidemark', 'devices', 'enrol', '--'])).includes('--out'));
    assert.match((await ok(['completion', 'zsh'])).stdout, /bashcompinit/);
    assert.match(
      (await ok(['completion', 'fish'])).stdout,
      /^complete -c tidemark -n '__fish_seen_subcommand_from devices; and not __fish_seen_subcommand_from enrol role claims reenrol revoke list' -a enrol /m,
    );
    assert.equal((await tidemark(['completion', 'powershell'])).code, 2);
  });

  it('access rules and roles: publish from a file, show, enrol with a role, change it; a push the role may not write is refused', async () => {
    await ok(['workspaces', 'create', 'studio', '--reason', 'roles']);
    const file = join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify({ version: 1, roles: { pipeline: { write: { job: '*', annotation: ['confidence'] } }, annotator: { write: { annotation: '*' }, resolve: true } } }));
    const published = await json(['access', 'publish', 'studio', file, '--reason', 'pipelines write jobs']);
    assert.deepEqual(
      { workspace: published.workspace, version: published.version, roles: Object.keys(published.rules.roles).sort() },
      { workspace: 'studio', version: 1, roles: ['annotator', 'pipeline'] },
    );
    assert.match((await ok(['access', 'show', 'studio'])).stdout, /^studio: access rules version 1, published .+\nroles: pipeline, annotator/m);
    assert.deepEqual(
      (await json(['access', 'versions', 'studio'])).versions.map((v: { version: number }) => v.version),
      [1],
    );

    const credentials = join(dir, 'runner.json');
    await ok(['devices', 'enrol', 'studio', 'runner', '--role', 'pipeline', '--out', credentials, '--reason', 'gpu box']);
    const token = (JSON.parse(readFileSync(credentials, 'utf8')) as { accessToken: string }).accessToken;
    const runner = new FakeDevice('runner');
    const label = await push(stack.url('gateway'), [runner.upsert('annotation', 'img-1', { label: 'cat' })], bearer(token));
    assert.equal(label.status, 403, 'a pipeline may not write a label');
    const listed = await json(['devices', 'list', 'studio']);
    assert.deepEqual(
      listed.devices.map((d: { deviceId: string; role: string | null }) => [d.deviceId, d.role]),
      [['runner', 'pipeline']],
    );

    assert.match((await ok(['devices', 'role', 'studio', 'runner', 'annotator', '--reason', 'promoted'])).stdout, /^studio\/runner: role annotator$/m);
    const relabel = new FakeDevice('runner');
    assert.equal((await push(stack.url('gateway'), [relabel.upsert('annotation', 'img-1', { label: 'cat' })], bearer(token))).status, 200, 'an annotator may, from the next push');
    const undeclared = await tidemark(['devices', 'role', 'studio', 'runner', 'astronaut', '--reason', 'no such role']);
    assert.equal(undeclared.code, 1, undeclared.stderr);
    assert.match(undeclared.stderr, /\/role/, 'the refusal names the pointer');
  });

  it('claims: enrol a device with claims, replace them, clear them; each read back from the device list', async () => {
    const credentials = join(dir, 'tablet.json');
    await ok(['devices', 'enrol', 'studio', 'tablet', '--claim', 'projects=p-1,p-2', '--claim', 'sites=north', '--out', credentials, '--reason', 'annotator tablet']);
    const claimsOf = async () => (await json(['devices', 'list', 'studio'])).devices.find((d: { deviceId: string }) => d.deviceId === 'tablet').claims;
    assert.deepEqual(await claimsOf(), { projects: ['p-1', 'p-2'], sites: ['north'] });
    assert.match((await ok(['devices', 'claims', 'studio', 'tablet', 'projects=p-3', '--reason', 'moved'])).stdout, /^studio\/tablet: claims projects=p-3$/m);
    assert.deepEqual(await claimsOf(), { projects: ['p-3'] });
    assert.match((await ok(['devices', 'claims', 'studio', 'tablet', '--reason', 'left'])).stdout, /^studio\/tablet: claims none$/m);
    const bad = await tidemark(['devices', 'claims', 'studio', 'tablet', 'projects', '--reason', 'x']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /expected name=value/);
  });

  it('scopes: a workspace’s read scopes and their subscribers, as operators see them', async () => {
    const file = join(dir, 'rules-v2.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 2,
        scopes: { project: { types: ['annotation'], partition: { values: { claim: 'projects' } } } },
        roles: { pipeline: { write: { job: '*' } }, annotator: { write: { annotation: '*' }, resolve: true, read: ['project'] } },
      }),
    );
    await ok(['access', 'publish', 'studio', file, '--reason', 'projects']);
    await ok(['devices', 'claims', 'studio', 'tablet', 'projects=p-9', '--reason', 'project p-9']);
    await ok(['devices', 'role', 'studio', 'tablet', 'annotator', '--reason', 'annotates']);
    const token = (JSON.parse(readFileSync(join(dir, 'tablet.json'), 'utf8')) as { accessToken: string }).accessToken;
    const subscribed = await fetch(`${stack.url('gateway')}/v1/subscriptions`, {
      method: 'PUT',
      headers: { ...bearer(token), 'content-type': 'application/json' },
      body: JSON.stringify({ subscriptions: [{ scope: 'project', value: 'p-9' }] }),
    });
    assert.equal(subscribed.status, 200, await subscribed.text());
    const shown = (await ok(['scopes', 'studio'])).stdout;
    assert.match(shown, /^studio: read scopes of access rules v2$/m);
    assert.match(shown, /^project\s+annotation\s+annotator\s+p-9\s+1\s+tablet$/m);
    assert.deepEqual(
      (await json(['scopes', 'studio'])).scopes.map((s: { scope: string; subscribers: number }) => [s.scope, s.subscribers]),
      [['project', 1]],
    );
    // With a scope: its lag per value and subscriber (the tablet never pulled: it has no read position).
    const lag = (await ok(['scopes', 'studio', 'project'])).stdout;
    assert.match(lag, /^studio: lag in scope project \(access rules v2; behind counted up to 1000\)$/m);
    assert.match(lag, /^p-9\s+1\s+tablet\s+0$/m);
    assert.deepEqual(
      (await json(['scopes', 'studio', 'project', '--value', 'p-9'])).values.map((v: { value: string; subscribers: number }) => [v.value, v.subscribers]),
      [['p-9', 1]],
    );
    const unknown = await tidemark(['scopes', 'studio', 'nothing']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /declare no scope "nothing"/);
  });
});
