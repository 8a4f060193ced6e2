// The whole program against a fake fetch: what each command line sends to ops-api, what it prints and
// how it exits — no network, no clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { run, unknownEnvironment, type CliIo } from './cli';
import type { ReplayJobView } from '@tidemark/contracts';
import { replayJob, type ReplayJobOverrides } from './testing/replay-job';

interface Call {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}
type Route = (call: Call) => { status: number; body: unknown } | undefined;

function harness(route: Route = () => ({ status: 200, body: {} }), env: Record<string, string> = { TIDEMARK_OPS_URL: 'http://ops:3005', TIDEMARK_TOKEN: 'tok' }, tty = false) {
  const calls: Call[] = [];
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: tty, columns: 120 },
    stderr: { write: (s: string) => ((stderr += s), true) },
    env,
    fetch: async (url, init) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      const call: Call = { method: init?.method ?? 'GET', url: String(url), authorization: headers.authorization, body: init?.body === undefined ? undefined : JSON.parse(String(init.body)) };
      calls.push(call);
      const answer = route(call) ?? { status: 404, body: { type: 'about:blank', title: 'Not found', status: 404, detail: `no route for ${call.method} ${call.url}` } };
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': answer.status >= 400 ? 'application/problem+json' : 'application/json' } });
    },
    now: () => new Date('2026-11-25T12:00:00.000Z'),
    sleep: async () => undefined,
  };
  return {
    calls,
    cli: async (...args: string[]) => {
      stdout = '';
      stderr = '';
      const code = await run(['node', 'tidemark', ...args], io);
      return { code, stdout, stderr };
    },
  };
}

const overviewOf = (ready: boolean, lag: number) => ({
  at: 't',
  services: [{ name: 'merge-service', url: 'u', ready, status: ready ? 200 : 503, detail: {}, latencyMs: 1 }],
  ready,
  streams: null,
  consumers: null,
  projection: { consumerPrefix: 'merge', partitions: 4, partitionsBehind: lag > 0 ? 1 : 0, lag: { messages: lag, seconds: lag } },
  rates: { ingestPerSecond: null, projectPerSecond: null },
  parked: 0,
  conflictsOpen: 0,
  uploads: null,
  unavailable: [],
});

const job = (status: ReplayJobView['status'], over: ReplayJobOverrides = {}): ReplayJobView => replayJob({ status, scope: { workspace: 'acme' }, createdAt: '2026-11-25T12:00:00.000Z', ...over });
const building = (done: number, total = 10) =>
  job('building', {
    plan: {
      scanned: { events: total, lastSeq: total, toSeq: total },
      selectedEvents: total,
      affectedEntities: 2,
      rebuildEvents: total,
      estimate: { seconds: 1, eventsPerSecond: 2000, basis: 'rate-limit' },
    },
    progress: { eventsDone: done, eventsTotal: total, percent: (done / total) * 100, eventsPerSecond: 5, etaSeconds: (total - done) / 5 },
  });
const built = () =>
  job('built', {
    ...building(10),
    status: 'built',
    progress: { ...building(10).progress, phase: 'built', percent: 100 },
    diff: { digest: 'ab'.repeat(32), summary: { entities: { affected: 2, changed: 1, unchanged: 1, added: 0, removed: 0 }, fields: {}, conflicts: { opened: 0, closed: 0 }, receipts: {} } },
  });

describe('cli: arguments to requests', () => {
  it('sends each view’s GET with the operator token to TIDEMARK_OPS_URL', async () => {
    const { cli, calls } = harness((c) => ({ status: 200, body: c.url.endsWith('/v1/overview') ? overviewOf(true, 0) : {} }));
    for (const args of [
      ['status'],
      ['lag'],
      ['devices', '--site', 'lab', '--behind', '--limit', '5'],
      ['sites', '--workspace', 'acme'],
      ['uploads'],
      ['assets', '--by', 'class'],
      ['parked', '--status', 'all'],
      ['parked', 'merge-p01', '17'],
      ['conflicts', '--hotspots', '--workspace', 'ws-a'],
      ['conflicts', 'e:label'],
      ['inspect', 'evt'],
      ['replays', '--status', 'built'],
      ['replay', 'list'],
    ]) {
      assert.equal((await cli('--json', ...args)).code, 0, args.join(' '));
    }
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.url}`),
      [
        'GET http://ops:3005/v1/overview',
        'GET http://ops:3005/v1/streams',
        'GET http://ops:3005/v1/devices?site=lab&fallingBehind=true&limit=5',
        'GET http://ops:3005/v1/sites?workspace=acme',
        'GET http://ops:3005/v1/assets',
        'GET http://ops:3005/v1/assets/backlog?by=class',
        'GET http://ops:3005/v1/parked?status=all',
        'GET http://ops:3005/v1/parked/merge-p01/17',
        'GET http://ops:3005/v1/conflicts/hotspots?workspace=ws-a',
        'GET http://ops:3005/v1/conflicts/e%3Alabel',
        'GET http://ops:3005/v1/events/evt',
        'GET http://ops:3005/v1/replays?status=built',
        'GET http://ops:3005/v1/replays',
      ],
    );
    assert.ok(calls.every((c) => c.authorization === 'Bearer tok'));
  });

  it('--url and --token win over the environment, global options go before or after the command, and the default URL is local', async () => {
    const { cli, calls } = harness();
    await cli('lag', '--url', 'https://ops.example.com/', '--token', 'other', '--json');
    assert.deepEqual([calls[0]!.url, calls[0]!.authorization], ['https://ops.example.com/v1/streams', 'Bearer other']);
    const local = harness(undefined, {});
    await local.cli('lag');
    assert.deepEqual([local.calls[0]!.url, local.calls[0]!.authorization], ['http://127.0.0.1:3005/v1/streams', undefined]);
  });

  it('actions POST their body: redrive, skip, resolve, replay start, swap, cancel', async () => {
    const { cli, calls } = harness(() => ({ status: 202, body: job('queued') }));
    await cli('redrive', 'merge-p01', '17', '--reason', 'photo v1 published');
    await cli('skip', 'merge-p01', '18', '--reason', 'never shipped');
    await cli('resolve', 'e:label', '--pick', 'value', '--value', '{"name":"lynx"}', '--reason', 'both wrong', '--event-id', '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69');
    await cli('resolve', 'e:label', '--pick', 'theirs', '--reason', 'theirs is right');
    await cli(
      'replay',
      'start',
      '--workspace',
      'acme',
      '--entity-type',
      'prompt',
      '--policy-revision',
      'prompt=2',
      '--policy-revision',
      'annotation=3',
      '--since',
      '2h',
      '--until',
      '2026-11-25',
      '--from-seq',
      '10',
      '--rate',
      '500',
      '--reason',
      'titles only grow',
      '--dry-run',
    );
    await cli('replay', 'swap', 'r1', '--confirm', 'AB'.repeat(32), '--reason', 'apply');
    await cli('replay', 'cancel', 'r1', '--reason', 'not needed');
    assert.deepEqual(
      calls.map((c) => [c.method, c.url.replace('http://ops:3005', ''), c.body]),
      [
        ['POST', '/v1/parked/merge-p01/17/redrive', { reason: 'photo v1 published' }],
        ['POST', '/v1/parked/merge-p01/18/skip', { reason: 'never shipped' }],
        ['POST', '/v1/conflicts/e%3Alabel/resolve', { pick: 'value', value: { name: 'lynx' }, reason: 'both wrong', eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69' }],
        ['POST', '/v1/conflicts/e%3Alabel/resolve', { pick: 'theirs', reason: 'theirs is right' }],
        [
          'POST',
          '/v1/replays',
          {
            scope: { workspace: 'acme', entityType: 'prompt', fromSeq: 10, fromTime: '2026-11-25T10:00:00.000Z', toTime: '2026-11-25T00:00:00.000Z' },
            policyRevisions: { prompt: 2, annotation: 3 },
            reason: 'titles only grow',
            dryRun: true,
            eventsPerSecond: 500,
          },
        ],
        ['POST', '/v1/replays/r1/swap', { confirm: 'ab'.repeat(32), reason: 'apply' }],
        ['POST', '/v1/replays/r1/cancel', { reason: 'not needed' }],
      ],
    );
  });

  it('refuses to act with an unknown TIDEMARK_* variable (TIDEMARK_URL is not TIDEMARK_OPS_URL): exit 2, nothing called, the variable and the known ones named', async () => {
    const { cli, calls } = harness(() => ({ status: 200, body: overviewOf(true, 0) }), { TIDEMARK_URL: 'http://remote:3005', TIDEMARK_TOKEN: 'tok' });
    const refused = await cli('status');
    assert.equal(refused.code, 2);
    assert.deepEqual(calls, [], 'nothing was sent to the local ops-api');
    assert.match(refused.stderr, /TIDEMARK_URL: not a variable tidemark reads/);
    assert.match(refused.stderr, /acting on http:\/\/127\.0\.0\.1:3005/);
    assert.match(refused.stderr, /the CLI reads TIDEMARK_OPS_URL, TIDEMARK_GATEWAY_URL, TIDEMARK_JOURNAL_URL, TIDEMARK_TOKEN, TIDEMARK_CONFIG \(did you mean TIDEMARK_OPS_URL\?\)/);
    const two = await harness(undefined, { TIDEMARK_OPS_URL: 'http://ops:3005', TIDEMARK_TOKN: 'x', TIDEMARK_JSON: '1' }).cli('lag');
    assert.equal(two.code, 2);
    assert.match(two.stderr, /TIDEMARK_JSON, TIDEMARK_TOKN: not a variable/);
    // Variables other tidemark programs read are not typos; --help needs no environment check.
    const others = harness(() => ({ status: 200, body: overviewOf(true, 0) }), { TIDEMARK_OPS_URL: 'http://ops:3005', TIDEMARK_INSTANCE: 'a', TIDEMARK_HOME: '/x', TIDEMARK_TEST_TMP: '/t' });
    assert.equal((await others.cli('status')).code, 0);
    assert.equal((await harness(undefined, { TIDEMARK_URL: 'x' }).cli('--help')).code, 0);
    assert.deepEqual(unknownEnvironment({ TIDEMARK_URL: 'a', TIDEMARK_OPS_URL: 'b', TIDEMARK_TOKEN: 'c', TIDEMARK_INSTANCE: 'd', PATH: '/bin', TIDEMARK_UNSET: undefined }), ['TIDEMARK_URL']);
  });

  it('usage errors exit 2 and call nothing', async () => {
    const { cli, calls } = harness();
    const cases: [string[], RegExp][] = [
      [['redrive', 'merge-p01', '17'], /required option '--reason <reason>' not specified/],
      [['redrive', 'merge-p01', 'x', '--reason', 'r'], /must be an integer/],
      [['redrive', 'merge-p01', '17', '--reason', '  '], /must say why/],
      [['resolve', 'c', '--pick', 'maybe', '--reason', 'r'], /Allowed choices are ours, theirs, value/],
      [['resolve', 'c', '--reason', 'r'], /required option '--pick <side>' not specified/],
      [['resolve', 'c', '--pick', 'value', '--reason', 'r'], /--pick value needs --value <json>/],
      [['resolve', 'c', '--pick', 'ours', '--value', '1', '--reason', 'r'], /--value goes with --pick value/],
      [['resolve', 'c', '--pick', 'value', '--value', 'lynx', '--reason', 'r'], /must be JSON/],
      [['parked', 'merge-p01'], /tidemark parked <consumer> <seq>/],
      [['devices', '--limit', '0'], /from 1 to/],
      [['devices', '--sort', 'random'], /Allowed choices are behind, last-seen, missing, device/],
      [['devices', '--bogus'], /unknown option '--bogus'/],
      [['replay', 'start', '--reason', 'r', '--since', 'yesterday'], /duration ago/],
      [['replay', 'swap', 'r1', '--confirm', 'abc', '--reason', 'r'], /64 hex digits/],
      [['replay', 'cancel', 'r1'], /required option '--reason <reason>'/],
      [['replay', 'bogus'], /unknown command 'bogus'/],
      [['status', '--max-lag', 'lots'], /must be an integer/],
      [['--url', 'ops:3005', 'status'], /must be an http or https URL/],
      [['--timeout', '0', 'status'], /from 1 to/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
    }
    const badEnv = harness(undefined, { TIDEMARK_OPS_URL: 'ops:3005' });
    const result = await badEnv.cli('status');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /TIDEMARK_OPS_URL: "ops:3005" must be an http or https URL/);
    assert.deepEqual([calls.length, badEnv.calls.length], [0, 0]);
  });
});

describe('cli: output and exit codes', () => {
  it('--json prints the API’s document; text prints the table', async () => {
    const list = {
      parked: [
        {
          consumer: 'merge-p01',
          seq: 17,
          eventId: 'e1',
          workspace: 'acme',
          subject: 's',
          code: 'unknown-entity-type',
          reason: 'unknown entity type "photo"',
          attempts: 1,
          status: 'parked',
          parkedAt: '2026-11-25T11:00:00.000Z',
          resolution: null,
          resolvedSeq: null,
          note: null,
          event: { entity: { type: 'photo', id: 'p1' }, deviceId: 'cam', deviceSeq: 1, op: 'upsert', schemaVersion: 1 },
        },
      ],
      hasMore: false,
    };
    const { cli } = harness(() => ({ status: 200, body: list }));
    const asJson = await cli('--json', 'parked');
    assert.deepEqual(JSON.parse(asJson.stdout), list);
    const asText = await cli('parked');
    assert.match(
      asText.stdout,
      /^CONSUMER +SEQ +STATUS +CODE +WORKSPACE +ENTITY +EVENT +ATTEMPTS +PARKED AT +REASON\nmerge-p01 +17 +parked +unknown-entity-type +acme +photo\/p1 +e1 +1 +2026-11-25T11:00:00\.000Z +unknown entity type "photo"\n$/,
    );
  });

  it('a refusal exits 1 with title, detail and pointers on stderr (and the problem on stdout with --json)', async () => {
    const refusal = {
      type: 'https://tidemark.dev/problems/validation-failed',
      title: 'Validation failed',
      status: 400,
      detail: 'a named policy revision is not published; nothing was recorded',
      errors: [{ pointer: '/policyRevisions/prompt', detail: 'prompt has no published policy revision 7' }],
    };
    const { cli } = harness(() => ({ status: 400, body: refusal }));
    const text = await cli('replay', 'start', '--workspace', 'acme', '--policy-revision', 'prompt=7', '--reason', 'r');
    assert.deepEqual(text, {
      code: 1,
      stdout: '',
      stderr: 'tidemark: Validation failed (400)\n  a named policy revision is not published; nothing was recorded\n  /policyRevisions/prompt: prompt has no published policy revision 7\n',
    });
    const json = await cli('--json', 'replay', 'start', '--workspace', 'acme', '--policy-revision', 'prompt=7', '--reason', 'r');
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), refusal);
  });

  it('a 5xx exits 3', async () => {
    const { cli } = harness(() => ({ status: 503, body: { type: 't', title: 'Streams unavailable', status: 503, detail: 'cannot read the streams and checkpoints: timeout; retry' } }));
    const result = await cli('lag');
    assert.equal(result.code, 3);
    assert.match(result.stderr, /^tidemark: Streams unavailable \(503\)\n {2}cannot read the streams/);
  });

  it('queues --check exits 4 when a queue falls behind, 0 otherwise; --json keeps the document', async () => {
    const queue = {
      workspace: 'lab',
      queue: 'asr',
      queued: 1,
      running: 0,
      retrying: 0,
      failed: 0,
      retries: 0,
      repairsOpen: 0,
      oldestQueuedAt: 't',
      oldestQueuedSeconds: 900,
      fallingBehind: true,
      reasons: [{ code: 'waiting', detail: 'x' }],
    };
    let queues = [queue];
    const { cli, calls } = harness(() => ({
      status: 200,
      body: {
        at: 't',
        waitThresholdSeconds: 600,
        rule: 'r',
        total: { queues: queues.length, fallingBehind: 1, queued: 1, running: 0, retrying: 0, failed: 0, retries: 0, repairsOpen: 0, oldestQueuedSeconds: 900 },
        queues,
      },
    }));
    const behind = await cli('--json', 'queues', '--check', '--behind', '--wait-threshold', '600');
    assert.equal(behind.code, 4);
    assert.equal(JSON.parse(behind.stdout).queues[0].queue, 'asr');
    assert.equal(calls[0]!.url, 'http://ops:3005/v1/queues?fallingBehind=true&waitThresholdSeconds=600');
    assert.equal((await cli('queues')).code, 0, 'without --check it only reports');
    queues = [{ ...queue, fallingBehind: false, reasons: [] }];
    assert.equal((await cli('queues', '--check')).code, 0);
  });

  it('status exits 4 when a service is not ready or lag is above a threshold, and says why on stderr', async () => {
    const overview = overviewOf;
    let answer = overview(true, 8);
    const { cli } = harness(() => ({ status: 200, body: answer }));
    assert.deepEqual([(await cli('status')).code, (await cli('status', '--max-lag', '8')).code, (await cli('status', '--max-lag-seconds', '8.5')).code], [0, 0, 0]);
    const over = await cli('status', '--max-lag', '7');
    assert.equal(over.code, 4);
    assert.equal(over.stderr, 'tidemark: status: projection lag 8 messages is above --max-lag 7\n');
    answer = overview(false, 0);
    const down = await cli('--json', 'status');
    assert.equal(down.code, 4);
    assert.equal(JSON.parse(down.stdout).ready, false, 'stdout keeps the document');
    assert.equal(down.stderr, 'tidemark: status: merge-service is not ready (/readyz answered 503)\n');
  });

  it('replay status --watch without a terminal prints each phase once and exits 0 when built, 5 when it failed', async () => {
    const sequence = [building(2), building(6), job('diffing', { ...building(10), status: 'diffing' }), built()];
    const { cli, calls } = harness(() => ({ status: 200, body: sequence.shift() ?? built() }));
    const result = await cli('replay', 'status', 'r1', '--watch', '--interval', '50');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^building: 20% \(2\/10 events\), 5\/s, ETA 1\.6s\ndiffing: 100% \(10\/10 events\), 5\/s, ETA 0s\nbuilt: 100% \(10\/10 events\), 5\/s, ETA 0s\n/);
    assert.match(result.stdout, /^status +built$/m);
    assert.equal(calls.length, 4);

    const failing = harness(() => ({ status: 200, body: job('failed', { error: 'shadow schema exists' }) }));
    const failed = await failing.cli('replay', 'status', 'r1', '--watch');
    assert.equal(failed.code, 5);
    assert.equal(failed.stderr, 'tidemark: replay 4f1c2d3e-0000-4000-8000-000000000001 ended failed: shadow schema exists\n');
  });

  it('replay start --watch --json prints one document: the job as it ended', async () => {
    const sequence = [building(5), built()];
    const { cli } = harness((c) => ({ status: c.method === 'POST' ? 202 : 200, body: c.method === 'POST' ? job('queued') : (sequence.shift() ?? built()) }));
    const result = await cli('--json', 'replay', 'start', '--reason', 'r', '--watch');
    assert.equal(result.code, 0);
    assert.equal(JSON.parse(result.stdout).status, 'built');
  });

  it('replay plan requests a plan-only replay and follows it until the worker ends it; --keep requests a full one and stops at the plan', async () => {
    const planned = building(0);
    const done = job('cancelled', { planOnly: true, plan: planned.plan, finishedAt: '2026-11-25T12:00:02.000Z' });
    const answers = [job('planning', { planOnly: true }), done];
    const { cli, calls } = harness((c) => {
      if (c.method === 'POST' && c.url.endsWith('/v1/replays')) return { status: 202, body: job('queued', { planOnly: true }) };
      return { status: 200, body: answers.shift() ?? done };
    });
    const result = await cli('replay', 'plan', '--workspace', 'acme', '--reason', 'how big', '--dry-run');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.url.replace('http://ops:3005', '')}`),
      ['POST /v1/replays', 'GET /v1/replays/4f1c2d3e-0000-4000-8000-000000000001', 'GET /v1/replays/4f1c2d3e-0000-4000-8000-000000000001'],
      'no cancel: the worker ends a plan-only replay',
    );
    assert.deepEqual(calls[0]!.body, { scope: { workspace: 'acme' }, reason: 'how big', dryRun: true, planOnly: true });
    assert.match(result.stdout, /^status +cancelled$/m);
    assert.match(result.stdout, /^plan +10 events selected, 2 entities to rebuild from 10 events$/m);
    assert.match(result.stdout, /^estimate +1\.0s|^estimate +1s/m);
    assert.match(result.stdout, /^plan only +yes: it ends once planned and builds nothing$/m);
    assert.match(result.stdout, /plan only: cancelled after planning, nothing was built/);

    // Watched later, a plan-only replay that ended with its plan gave what was asked: exit 0.
    const watched = harness(() => ({ status: 200, body: done }));
    const watchedDone = await watched.cli('replay', 'status', 'r1', '--watch');
    assert.deepEqual([watchedDone.code, watchedDone.stderr], [0, '']);
    // One an operator cancelled before its plan was complete (no estimate) ended without a result.
    const cancelledEarly = harness((c) => ({ status: c.method === 'POST' ? 202 : 200, body: job(c.method === 'POST' ? 'queued' : 'cancelled', { planOnly: true }) }));
    const early = await cancelledEarly.cli('replay', 'plan', '--reason', 'r');
    assert.equal(early.code, 0, 'replay plan exits 5 only for failed or stale');
    assert.doesNotMatch(early.stdout, /nothing was built/);
    assert.equal((await cancelledEarly.cli('replay', 'status', 'r1', '--watch')).code, 5);

    const keep = harness((c) => ({ status: c.method === 'POST' ? 202 : 200, body: c.method === 'POST' ? job('queued') : planned }));
    assert.equal((await keep.cli('replay', 'plan', '--reason', 'r', '--keep')).code, 0);
    assert.deepEqual(keep.calls[0]!.body, { scope: {}, reason: 'r', dryRun: true }, 'a full replay with --keep');
    assert.deepEqual(
      keep.calls.map((c) => c.method),
      ['POST', 'GET'],
      'stops at the plan, nothing cancelled',
    );
  });

  it('replay diff --all reads every page into one document', async () => {
    const pages: Record<string, unknown> = {
      '': { id: 'r1', status: 'built', digest: 'ab'.repeat(32), summary: null, entities: [{ entityId: 'a' }], next: 'P2' },
      P2: { id: 'r1', status: 'built', digest: 'ab'.repeat(32), summary: null, entities: [{ entityId: 'b' }], next: 'P3' },
      P3: { id: 'r1', status: 'built', digest: 'ab'.repeat(32), summary: null, entities: [{ entityId: 'c' }], next: null },
    };
    const { cli, calls } = harness((c) => ({ status: 200, body: pages[new URL(c.url).searchParams.get('after') ?? ''] }));
    const result = await cli('--json', 'replay', 'diff', 'r1', '--change', 'all', '--limit', '1', '--all');
    assert.equal(result.code, 0);
    const doc = JSON.parse(result.stdout);
    assert.deepEqual([doc.entities.map((e: { entityId: string }) => e.entityId), doc.next], [['a', 'b', 'c'], null]);
    assert.deepEqual(
      calls.map((c) => new URL(c.url).search),
      ['?change=all&limit=1', '?change=all&limit=1&after=P2', '?change=all&limit=1&after=P3'],
    );
  });

  it('--help and --version exit 0; no command is a usage error', async () => {
    const { cli } = harness();
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:/);
    assert.equal((await cli('help', 'replay')).code, 0);
    assert.equal((await cli('replay', 'start', '--help')).code, 0);
    assert.equal((await cli('--version')).code, 0);
    assert.equal((await cli()).code, 2);
  });
});
