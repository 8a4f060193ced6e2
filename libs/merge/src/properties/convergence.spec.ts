// Property tests: the merge rules converge and are idempotent, for any events fast-check can think of.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, type DeviceEvent, type FieldChange } from '@tidemark/contracts';
import { compareStamps, merge, view, type EntityState } from '../index';
import { BASE_WALL, deepFreeze, inputOf, uuid } from '../testing/events';
import { replay } from '../testing/merge-spec';
import { kitchenSink, SINK } from '../testing/schemas';

const DEVICES = ['dev-a', 'dev-b', 'dev-c'] as const;
const WORDS = ['ant', 'bee', 'cat', 'Dog', 'ému'] as const;

interface Draft {
  deviceId: string;
  wall: number;
  counter: number;
  baseVersion: number;
  fields: Record<string, FieldChange>;
}

/** Numbers the drafts into events: eventIds by position, deviceSeq in draft order per device. */
function toEvents(drafts: readonly Draft[], op: DeviceEvent['op'] = 'upsert'): DeviceEvent[] {
  const seqs: Record<string, number> = {};
  return drafts.map((draft, index) => {
    seqs[draft.deviceId] = (seqs[draft.deviceId] ?? 0) + 1;
    return {
      eventId: uuid(index + 1),
      deviceId: draft.deviceId,
      deviceSeq: seqs[draft.deviceId]!,
      hlc: { wall: BASE_WALL + draft.wall, counter: draft.counter },
      entity: { type: 'sink', id: 'sink-1' },
      op,
      baseVersion: draft.baseVersion,
      fields: draft.fields,
      schemaVersion: 1,
    };
  });
}

/** Field changes of the commuting policies: lww, counter, max, min, append. */
const commutingChange = fc
  .record(
    {
      title: fc.constantFrom(...WORDS).map((value): FieldChange => ({ op: 'set', value })),
      note: fc.option(fc.constantFrom(...WORDS), { nil: null }).map((value): FieldChange => ({ op: 'set', value })),
      n: fc.integer({ min: -5, max: 5 }).map((by): FieldChange => ({ op: 'inc', by })),
      hi: fc.integer({ min: -10, max: 10 }).map((value): FieldChange => ({ op: 'set', value })),
      lo: fc.double({ min: -100, max: 100, noNaN: true }).map((value): FieldChange => ({ op: 'set', value })),
      word: fc.constantFrom(...WORDS).map((value): FieldChange => ({ op: 'set', value })),
      log: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }).map((values): FieldChange => ({ op: 'append', values })),
    },
    { requiredKeys: [] },
  )
  .filter((fields) => Object.keys(fields).length > 0);

const draft = (fields: fc.Arbitrary<Record<string, FieldChange>>, maxBase = 6) =>
  fc.record({
    deviceId: fc.constantFrom(...DEVICES),
    wall: fc.integer({ min: 0, max: 8 }),
    counter: fc.integer({ min: 0, max: 2 }),
    baseVersion: fc.integer({ min: 0, max: maxBase }),
    fields,
  });

/** A history and a permutation of it. */
const historyAndPermutation = fc
  .array(draft(commutingChange), { minLength: 1, maxLength: 14 })
  .map((drafts) => toEvents(drafts))
  .chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })));

function finalState(events: readonly DeviceEvent[]): EntityState {
  const state = replay(SINK, events);
  assert.ok(state);
  return state;
}

describe('convergence: every order of the same events gives the same view and the same canonical state', () => {
  it('lww, counter, max, min and append, under any permutation', () => {
    fc.assert(
      fc.property(historyAndPermutation, ([events, permuted]) => {
        const one = finalState(events);
        const two = finalState(permuted);
        assert.deepStrictEqual(view(two), view(one));
        assert.equal(canonicalJson(two), canonicalJson(one));
      }),
      { numRuns: 150 },
    );
  });

  it('the converged values are the ones each rule defines', () => {
    fc.assert(
      fc.property(historyAndPermutation, ([events]) => {
        const values = view(finalState(events)).values;
        const writes = (field: string) => events.filter((e) => e.fields?.[field]).map((e) => ({ e, change: e.fields![field]! }));
        const value = (change: FieldChange) => (change.op === 'set' ? change.value : undefined);
        const newest = (field: string) =>
          writes(field)
            .sort((a, b) => compareStamps(a.e, b.e))
            .at(-1);
        for (const field of ['title', 'note'] as const) {
          const winner = newest(field);
          assert.deepStrictEqual(values[field], winner ? value(winner.change) : undefined, `${field} is the write with the greatest stamp`);
        }
        const incs = writes('n').map(({ change }) => (change.op === 'inc' ? change.by : 0));
        assert.equal(values.n, incs.length ? incs.reduce((a, b) => a + b, 0) : undefined, 'n is the sum');
        const his = writes('hi').map(({ change }) => value(change) as number);
        assert.equal(values.hi, his.length ? Math.max(...his) : undefined, 'hi is the max');
        const los = writes('lo').map(({ change }) => value(change) as number);
        assert.equal(values.lo, los.length ? Math.min(...los) + 0 : undefined, 'lo is the min');
        const words = writes('word')
          .map(({ change }) => value(change) as string)
          .sort();
        assert.equal(values.word, words.at(-1), 'word is the code-unit max');
        const log = writes('log')
          .sort((a, b) => compareStamps(a.e, b.e))
          .flatMap(({ change }) => (change.op === 'append' ? change.values : []));
        assert.deepStrictEqual(values.log, log.length ? log : undefined, 'log is ordered by stamp');
      }),
      { numRuns: 150 },
    );
  });

  it('the duplicate window keeps the greatest stamps, so it converges even when full', () => {
    const many = fc
      .array(draft(fc.integer({ min: 1, max: 3 }).map((by): Record<string, FieldChange> => ({ n: { op: 'inc', by } }))), { minLength: 60, maxLength: 100 })
      .map((drafts) => toEvents(drafts))
      .chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })));
    fc.assert(
      fc.property(many, ([events, permuted]) => {
        const one = finalState(events);
        const two = finalState(permuted);
        assert.equal(canonicalJson(two), canonicalJson(one));
        const greatest = [...events]
          .sort(compareStamps)
          .slice(-64)
          .map((e) => e.eventId);
        assert.deepStrictEqual(
          one.recent.map((r) => r.eventId),
          greatest,
        );
      }),
      { numRuns: 25 },
    );
  });

  it('set: every interleaving of offline device queues (per-device order kept) converges', () => {
    const setChange = fc
      .tuple(fc.constantFrom('add', 'remove'), fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), { minLength: 1, maxLength: 2 }))
      .map(([op, values]): Record<string, FieldChange> => ({ tags: op === 'add' ? { op: 'add', values } : { op: 'remove', values } }));
    // A seed everyone saw (versions 1..k), then each device works offline from base k.
    const scenario = fc
      .record({
        seed: fc.array(fc.uniqueArray(fc.constantFrom('x', 'y', 'z'), { minLength: 1, maxLength: 3 }), { minLength: 0, maxLength: 3 }),
        queues: fc.array(fc.array(setChange, { minLength: 1, maxLength: 5 }), { minLength: 2, maxLength: 3 }),
      })
      .chain(({ seed, queues }) => {
        const slots = queues.flatMap((queue, device) => queue.map(() => device));
        return fc.tuple(
          fc.constant({ seed, queues }),
          fc.shuffledSubarray(slots, { minLength: slots.length, maxLength: slots.length }),
          fc.shuffledSubarray(slots, { minLength: slots.length, maxLength: slots.length }),
        );
      });

    fc.assert(
      fc.property(scenario, ([{ seed, queues }, orderOne, orderTwo]) => {
        const seedDrafts: Draft[] = seed.map((values, i) => ({ deviceId: 'seed', wall: i, counter: 0, baseVersion: i, fields: { tags: { op: 'add', values } } }));
        const queueDrafts = queues.map((queue, device) => queue.map((fields, i): Draft => ({ deviceId: DEVICES[device]!, wall: 100 + i * 10 + device, counter: 0, baseVersion: seed.length, fields })));
        const all = toEvents([...seedDrafts, ...queueDrafts.flat()]);
        const seedEvents = all.slice(0, seed.length);
        const byDevice = queues.map((_, device) => all.filter((e) => e.deviceId === DEVICES[device]));
        const interleave = (order: readonly number[]) => {
          const cursor = queues.map(() => 0);
          return [...seedEvents, ...order.map((device) => byDevice[device]![cursor[device]!++]!)];
        };
        const one = finalState(interleave(orderOne));
        const two = finalState(interleave(orderTwo));
        assert.deepStrictEqual(view(two), view(one));
        // Set tags record the version at which their add arrived (what a later remove had observed):
        // history by nature. Everything else in the canonical state is equal.
        const withoutArrival = (state: EntityState) => canonicalJson(state).replace(/"at":\d+/g, '"at":0');
        assert.equal(withoutArrival(two), withoutArrival(one));
        // And the model: an element stays iff some add of it was not observed by a later remove.
        const expected = new Set<string>();
        for (const values of seed) for (const v of values) expected.add(v);
        for (const queue of queues) for (const fields of queue) if (fields.tags!.op === 'remove') for (const v of fields.tags!.values as string[]) expected.delete(v);
        queues.forEach((queue) => {
          const own = new Set<string>();
          for (const fields of queue) {
            const change = fields.tags!;
            for (const v of (change.op === 'add' || change.op === 'remove' ? change.values : []) as string[]) {
              if (change.op === 'add') own.add(v);
              else own.delete(v);
            }
          }
          for (const v of own) expected.add(v);
        });
        assert.deepStrictEqual(view(one).values.tags ?? [], [...expected].sort());
      }),
      { numRuns: 150 },
    );
  });
});

describe('idempotence: applying any event twice equals applying it once', () => {
  const everything = fc
    .record(
      {
        title: fc.constantFrom(...WORDS).map((value): FieldChange => ({ op: 'set', value })),
        n: fc.integer({ min: -5, max: 5 }).map((by): FieldChange => ({ op: 'inc', by })),
        hi: fc.integer({ min: -10, max: 10 }).map((value): FieldChange => ({ op: 'set', value })),
        tags: fc.tuple(fc.boolean(), fc.constantFrom('x', 'y')).map(([isAdd, value]): FieldChange => (isAdd ? { op: 'add', values: [value] } : { op: 'remove', values: [value] })),
        log: fc.constantFrom(...WORDS).map((value): FieldChange => ({ op: 'append', values: [value] })),
        body: fc.constantFrom('one', 'two', 'three').map((value): FieldChange => ({ op: 'set', value })),
      },
      { requiredKeys: [] },
    )
    .filter((fields) => Object.keys(fields).length > 0);

  const scenario = fc
    .record({
      drafts: fc.array(fc.record({ draft: draft(everything, 8), isDelete: fc.integer({ min: 0, max: 5 }).map((n) => n === 0) }), { minLength: 1, maxLength: 20 }),
      rule: fc.constantFrom('delete-wins' as const, 'edit-wins' as const, 'review' as const),
    })
    .chain(({ drafts, rule }) => fc.tuple(fc.constant(drafts), fc.constant(rule), fc.nat({ max: drafts.length - 1 }), fc.nat({ max: drafts.length - 1 })));

  it('for every policy, delete rule and position of the repeat', () => {
    fc.assert(
      fc.property(scenario, ([drafts, rule, pick, at]) => {
        const schema = kitchenSink(rule);
        const events = toEvents(drafts.map((d) => d.draft)).map((event, i) => (drafts[i]!.isDelete ? { ...event, op: 'delete' as const, fields: undefined } : event));
        // The first fate of every event, to repeat one that was accepted.
        const outcomes: string[] = [];
        let once: EntityState | undefined;
        events.forEach((event, i) => {
          const result = merge(once, deepFreeze(inputOf(event, i + 1)), schema);
          outcomes.push(result.outcome);
          once = result.state;
        });
        fc.pre(['applied', 'merged', 'conflicted'].includes(outcomes[pick]!));
        const repeated = events[pick]!;
        const position = Math.max(pick, at) + 1;
        let state: EntityState | undefined;
        events.forEach((event, i) => {
          state = merge(state, deepFreeze(inputOf(event, i + 1)), schema).state;
          if (i + 1 === position) {
            const again = merge(state, deepFreeze(inputOf(repeated, i + 2)), schema);
            assert.equal(again.outcome, 'noop', `repeating ${repeated.eventId} (first ${outcomes[pick]}) after event #${i + 1}`);
            assert.equal(again.state, state, 'a repeat changes nothing');
          }
        });
        assert.equal(canonicalJson(state), canonicalJson(once));
      }),
      { numRuns: 200 },
    );
  });
});

describe('state is plain, canonical JSON', () => {
  it('survives a JSON round trip and serialises the same whatever the key order', () => {
    fc.assert(
      fc.property(historyAndPermutation, ([events]) => {
        const state = finalState(events);
        const copy = JSON.parse(JSON.stringify(state)) as EntityState;
        assert.deepStrictEqual(copy, state);
        const shuffledKeys = JSON.parse(
          JSON.stringify(state, (_key, value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value)),
        ) as EntityState;
        assert.equal(canonicalJson(shuffledKeys), canonicalJson(state));
      }),
      { numRuns: 50 },
    );
  });
});
