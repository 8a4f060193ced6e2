import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConflictListQuery,
  EventIdParam,
  HotspotQuery,
  LedgerId,
  ParkedActionRequest,
  ParkedEditRequest,
  ParkedListQuery,
  PullQuery,
  ReceiptQuery,
  RedeliveryRequest,
  RepairListQuery,
  ReplayCancelRequest,
  ReplayRequest,
  SnapshotQuery,
  StreamQuery,
  compileValidator,
  findUnstorableText,
  validatePushRequest,
  type Validated,
} from '@tidemark/contracts';
import { checkResolveRequest } from '@tidemark/persistence';
import { ProblemError, parsePath, parseQuery } from '@tidemark/platform';
import { validateAccessRules } from '@tidemark/access';
import { validators as identity } from './identity/identity.controller';
import { accessValidators } from './access/access-rules.controller';

/**
 * Every route's input validation, driven with generated hostile input: a valid sample with one part replaced
 * (or one member added) by NUL, lone surrogates, overlong strings, huge or fractional numbers, or the wrong
 * type. A validator answers acceptance or a list of problems with pointers, never throws; the wrappers that
 * throw (query and path parsing) throw only a 4xx problem; and nothing with unstorable text, or a cursor
 * beyond bigint, is ever accepted.
 */

type Outcome = { ok: true; value: unknown } | { ok: false; status: number; pointers: string[] };

/** How a route checks its input, answering as the route would (a thrown ProblemError is its problem). */
interface RouteInput {
  route: string;
  sample: unknown;
  check: (input: unknown) => Outcome;
  /** Further promises of an accepted value. */
  accepted?: (value: unknown) => void;
}

const fromValidated = (result: Validated<unknown>): Outcome => (result.ok ? result : { ok: false, status: 400, pointers: result.errors.map((e) => e.pointer) });
const body = (validate: (input: unknown) => Validated<unknown>) => (input: unknown) => fromValidated(validate(input));
const thrown =
  (run: (input: unknown) => unknown) =>
  (input: unknown): Outcome => {
    try {
      return { ok: true, value: run(input) };
    } catch (error) {
      assert.ok(error instanceof ProblemError, `only a problem is thrown, not ${String(error)}`);
      return { ok: false, status: error.problem.status, pointers: (error.problem.errors ?? []).map((e) => e.pointer) };
    }
  };
const query = (schema: Parameters<typeof compileValidator>[0], integers: string[] = ['limit']) => {
  const validate = compileValidator(schema);
  return thrown((input) => parseQuery(validate, input as Record<string, unknown>, integers));
};
const path = (schema: Parameters<typeof compileValidator>[0], name: string) => {
  const validate = compileValidator(schema);
  return thrown((input) => parsePath(validate, name, input as string));
};
const cursorFitsBigint = (value: unknown) => {
  const after = (value as { after?: unknown }).after;
  if (typeof after === 'string') assert.ok(BigInt(after.split(':')[0]!) <= 2n ** 63n - 1n, `accepted cursor ${after} fits bigint`);
};

const event = {
  eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69',
  deviceId: 'laptop-1',
  deviceSeq: 1,
  hlc: { wall: 1764062153123, counter: 0 },
  entity: { type: 'annotation', id: 'img-42' },
  op: 'upsert',
  baseVersion: 0,
  fields: { label: { op: 'set', value: { text: 'cat', tags: ['a', 'b'], score: 0.5 } } },
  schemaVersion: 1,
};
const reason = { reason: 'rotated laptop' };

const ROUTES: RouteInput[] = [
  { route: 'POST /v1/events', sample: { events: [event] }, check: body(validatePushRequest) },
  { route: 'POST /v1/conflicts/{id}/resolve', sample: { pick: 'value', value: { text: 'cat' }, eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69' }, check: body(checkResolveRequest) },
  { route: 'POST /v1/admin/workspaces', sample: { workspace: 'lab', name: 'The lab', reason: 'new team' }, check: body(identity.workspace) },
  { route: 'POST /v1/admin/workspaces/{w}/devices', sample: { deviceId: 'laptop-2', site: 'berlin', label: 'Ana’s laptop', role: 'annotator', reason: 'new hire' }, check: body(identity.device) },
  { route: 'PUT /v1/admin/workspaces/{w}/devices/{d}/role', sample: { role: 'reviewer', reason: 'promoted' }, check: body(identity.role) },
  {
    route: 'PUT /v1/admin/workspaces/{w}/access-rules',
    sample: {
      rules: {
        version: 2,
        defaultRole: 'annotator',
        roles: { annotator: { write: { annotation: ['label', 'tags'] } }, worker: { write: { job: { fields: ['logs'], transition: true } }, resolve: ['job'] }, admin: { write: '*', resolve: true } },
      },
      reason: 'roles for the lab',
    },
    // As the route checks it: the envelope, then the rules themselves (their problems under /rules).
    check: (input: unknown) => {
      const outer = accessValidators.publish(input);
      if (!outer.ok) return fromValidated(outer);
      const errors = validateAccessRules(outer.value.rules).map((e) => ({ ...e, pointer: `/rules${e.pointer === '/' ? '' : e.pointer}` }));
      return errors.length > 0 ? fromValidated({ ok: false, errors }) : outer;
    },
  },
  { route: 'POST …/devices/{d}/revoke|reenrol, /v1/admin/operator-tokens/{t}/revoke', sample: reason, check: body(identity.reason) },
  { route: 'POST /v1/admin/operator-tokens', sample: { name: 'ci-bot', roles: ['ops'], ttlSeconds: 3600, reason: 'ci' }, check: body(identity.operator) },
  { route: 'POST /v1/auth/refresh', sample: { refreshToken: 'tmr_0123456789abcdef' }, check: body(identity.refresh) },
  { route: 'GET /v1/admin/workspaces/{w}/devices ?query', sample: { limit: '10', after: 'laptop-1' }, check: body(identity.list) },
  { route: 'path {workspace}', sample: 'lab', check: body(identity.workspaceId) },
  { route: 'path {deviceId}', sample: 'laptop-1', check: body(identity.deviceId) },
  { route: 'GET /v1/changes', sample: { after: '42', limit: '10', wait: '5', receiptsAfter: '3' }, check: query(PullQuery, ['limit', 'wait', 'receiptsAfter']), accepted: cursorFitsBigint },
  { route: 'GET /v1/changes/stream', sample: { after: '42', receiptsAfter: '3' }, check: query(StreamQuery, ['limit', 'wait', 'receiptsAfter']), accepted: cursorFitsBigint },
  {
    route: 'GET /v1/snapshot',
    sample: { cursor: '42', after: 'annotation/img-42', limit: '10' },
    check: query(SnapshotQuery, ['limit']),
    accepted: (value: unknown) => {
      const cursor = (value as { cursor?: unknown }).cursor;
      if (typeof cursor === 'string') assert.ok(BigInt(cursor) <= 2n ** 63n - 1n, `accepted cursor ${cursor} fits bigint`);
    },
  },
  {
    route: 'GET /v1/conflicts',
    sample: { status: 'all', entityType: 'annotation', field: 'label', entityId: 'img-42', limit: '10', after: '12:c1' },
    check: query(ConflictListQuery),
    accepted: cursorFitsBigint,
  },
  { route: 'GET /v1/conflicts/hotspots', sample: { entityType: 'annotation', limit: '5' }, check: query(HotspotQuery) },
  { route: 'GET /v1/repairs', sample: { status: 'open', entityType: 'job', entityId: 'j1', limit: '5', after: '3:r1' }, check: query(RepairListQuery), accepted: cursorFitsBigint },
  { route: 'GET /v1/receipts', sample: { deviceId: 'laptop-1', after: '7', limit: '5' }, check: query(ReceiptQuery), accepted: cursorFitsBigint },
  { route: 'path {conflict or repair id}', sample: 'c1', check: path(LedgerId, 'id') },
  { route: 'path {eventId}', sample: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69', check: path(EventIdParam, 'eventId') },
  { route: 'GET /v1/parked (ops-api)', sample: { workspace: 'lab', consumer: 'merge-p00', limit: '10', after: '9' }, check: query(ParkedListQuery, []), accepted: cursorFitsBigint },
  { route: 'POST /v1/parked/{c}/{seq}/redrive|skip (ops-api)', sample: reason, check: body(compileValidator(ParkedActionRequest)) },
  { route: 'POST /v1/parked/{c}/{seq}/edit (ops-api)', sample: { reason: 'fix', event }, check: body(compileValidator(ParkedEditRequest)) },
  { route: 'POST /v1/replays (ops-api)', sample: { scope: { workspace: 'lab' }, reason: 'policy change', eventsPerSecond: 100 }, check: body(compileValidator(ReplayRequest)) },
  { route: 'POST /v1/replays/{id}/cancel (ops-api)', sample: reason, check: body(compileValidator(ReplayCancelRequest)) },
  { route: 'POST /v1/redeliveries (ops-api)', sample: { stream: 'MERGED', consumer: 'integrator', fromSeq: 1, toSeq: 9, reason: 'lost' }, check: body(compileValidator(RedeliveryRequest)) },
];

/** Strings Postgres cannot store. */
const unstorable = fc.oneof(
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800', '🐈\ud83d'),
  fc.tuple(fc.string(), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string()).map(([a, unit, b]) => `${a}${String.fromCharCode(unit)}${b}`),
  fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}\u0000${b}`),
);
/** Other hostile values: overlong strings, digits beyond bigint, huge, negative or fractional numbers, wrong types. */
const hostile = fc.oneof(
  fc.constantFrom('x'.repeat(300), 'x'.repeat(70_000), '9999999999999999999', '99999999999999999999999', '-1', '1e400', '0x10', ' 1', ''),
  fc.constantFrom(Number('9999999999999999999'), Number.MAX_SAFE_INTEGER + 2, 1e308, -1, -0, 0.5, Number.MAX_VALUE),
  fc.double(),
  fc.bigInt().map(String),
  fc.constantFrom(null, true, [], {}, [null], { a: 1 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
);

/** Every path into a JSON value (the root is []). */
function pathsOf(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, k]));
  return out;
}
function replaceAt(value: unknown, path: (string | number)[], next: unknown): unknown {
  if (path.length === 0) return next;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = next;
  return copy;
}
function addMember(value: unknown, path: (string | number)[], key: string, member: unknown): unknown {
  const copy = structuredClone(value);
  let target = copy as Record<string | number, unknown>;
  for (const k of path) target = target[k] as Record<string | number, unknown>;
  if (target !== null && typeof target === 'object' && !Array.isArray(target)) target[key] = member;
  return copy;
}

function checkOutcome(route: RouteInput, input: unknown): Outcome {
  const outcome = route.check(input);
  if (outcome.ok) {
    assert.deepEqual(findUnstorableText(outcome.value), [], `${route.route} accepted unstorable text`);
    route.accepted?.(outcome.value);
  } else {
    assert.ok(outcome.status >= 400 && outcome.status < 500, `${route.route}: a 4xx, not ${outcome.status}`);
    assert.ok(outcome.pointers.length > 0 && outcome.pointers.every((p) => typeof p === 'string'), `${route.route}: problems name their pointers`);
  }
  return outcome;
}

describe('every route validator under generated hostile input', () => {
  for (const route of ROUTES) {
    describe(route.route, () => {
      it('accepts its valid sample', () => {
        assert.equal(route.check(route.sample).ok, true, JSON.stringify(route.check(route.sample)));
      });

      it('refuses unstorable text put anywhere, as a value or as a member name, with a 4xx naming a pointer', () => {
        const paths = pathsOf(route.sample);
        fc.assert(
          fc.property(fc.constantFrom(...paths), unstorable, fc.boolean(), (at, text, asKey) => {
            const input = asKey ? addMember(route.sample, at, text, 'x') : replaceAt(route.sample, at, text);
            if (asKey && JSON.stringify(input) === JSON.stringify(route.sample)) return; // not an object there
            const outcome = checkOutcome(route, input);
            assert.equal(outcome.ok, false, `${route.route} accepted ${JSON.stringify(input)}`);
          }),
          { numRuns: 150 },
        );
      });

      it('answers any other hostile part with acceptance or a 4xx problem, never a throw', () => {
        const paths = pathsOf(route.sample);
        fc.assert(
          fc.property(fc.constantFrom(...paths), hostile, (at, value) => {
            checkOutcome(route, replaceAt(route.sample, at, value));
          }),
          { numRuns: 150 },
        );
      });
    });
  }
});
