import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LIFECYCLE_STATUSES, decide, dueCommand, replay, statusChanges, type Lifecycle, type LifecycleCommand, type LifecycleEvent, type LifecycleStatus } from './lifecycle';
import { transitionMessage, transitionMessageId } from './messages';

const at = (s: number) => new Date(Date.UTC(2025, 10, 25, 12, 0, s)).toISOString();

/** given(commands…).when(command).then(expectation): the decider, driven only through its commands. */
function given(...commands: LifecycleCommand[]) {
  let state: Lifecycle | undefined;
  for (const command of commands) {
    const decision = decide(state, command);
    assert.ok(decision.ok, `given ${command.type}: ${decision.ok ? '' : decision.detail}`);
    state = replay(state, decision.events);
  }
  return {
    when(command: LifecycleCommand) {
      const decision = decide(state, command);
      return {
        then(expect: { status?: LifecycleStatus; events?: LifecycleEvent['type'][]; error?: string; check?: (s: Lifecycle) => void }) {
          if (expect.error) {
            assert.equal(decision.ok, false, `expected ${expect.error}`);
            if (!decision.ok) assert.equal(decision.code, expect.error);
            return;
          }
          assert.ok(decision.ok, decision.ok ? '' : `${decision.code}: ${decision.detail}`);
          if (expect.events)
            assert.deepEqual(
              decision.events.map((e) => e.type),
              expect.events,
            );
          const next = replay(state, decision.events)!;
          if (expect.status) assert.equal(next.status, expect.status);
          expect.check?.(next);
        },
      };
    },
  };
}

const create = (size: number | 'deferred' = 10, stored = false): LifecycleCommand => ({ type: 'create', size: size === 'deferred' ? undefined : size, stored, at: at(0) });
const receive = (bytes: number, s = 1): LifecycleCommand => ({ type: 'receive', bytes, at: at(s) });
const verify = (actual = 'aa', declared = 'aa'): LifecycleCommand => ({ type: 'verify', declaredSha256: declared, actualSha256: actual, at: at(5) });
const cmd = (type: 'expire' | 'terminate' | 'reference' | 'unreference' | 'orphan' | 'revive' | 'collect', s = 6): LifecycleCommand => ({ type, at: at(s) });

describe('asset lifecycle: uploads', () => {
  it('creates a pending upload; bytes make it uploading; a matching sha256 verifies it', () => {
    given()
      .when(create())
      .then({ status: 'pending', events: ['created'] });
    given(create())
      .when(receive(4))
      .then({ status: 'uploading', events: ['received'], check: (s) => assert.equal(s.offset, 4) });
    given(create(), receive(4))
      .when(receive(6, 2))
      .then({ status: 'uploading', check: (s) => assert.deepEqual([s.offset, s.since], [10, at(1)]) });
    given(create(), receive(10))
      .when(verify())
      .then({ status: 'verified', events: ['verified'], check: (s) => assert.equal(s.deduplicated, undefined) });
  });

  it('a dedupe hit is created verified at once, with nothing to receive', () => {
    given()
      .when(create(10, true))
      .then({ status: 'verified', events: ['created', 'verified'], check: (s) => assert.deepEqual([s.offset, s.deduplicated], [10, true]) });
  });

  it('a sha256 mismatch collects the upload; verifying early is refused', () => {
    given(create(), receive(10))
      .when(verify('bb'))
      .then({ status: 'collected', events: ['collected'], check: (s) => assert.equal(s.reason, 'sha256-mismatch') });
    given(create(), receive(9)).when(verify()).then({ error: 'incomplete' });
  });

  it('refuses bytes beyond the declared length, and zero bytes change nothing', () => {
    given(create(), receive(8)).when(receive(3)).then({ error: 'exceeds-length' });
    given(create()).when(receive(0)).then({ status: 'pending', events: [] });
  });

  it('a deferred length is declared once, never below what arrived', () => {
    given(create('deferred'), receive(100))
      .when({ type: 'declare-length', size: 120, at: at(2) })
      .then({ events: ['length-declared'], check: (s) => assert.equal(s.size, 120) });
    given(create('deferred'), receive(100))
      .when({ type: 'declare-length', size: 99, at: at(2) })
      .then({ error: 'invalid-length' });
    given(create(120))
      .when({ type: 'declare-length', size: 120, at: at(2) })
      .then({ events: [] });
    given(create(120))
      .when({ type: 'declare-length', size: 121, at: at(2) })
      .then({ error: 'invalid-length' });
    given(create('deferred')).when(receive(1_000_000)).then({ status: 'uploading' });
  });

  it('open uploads expire or are terminated into collected; finished ones are kept', () => {
    given(create())
      .when(cmd('expire'))
      .then({ status: 'collected', check: (s) => assert.equal(s.reason, 'expired') });
    given(create(), receive(3))
      .when(cmd('terminate'))
      .then({ status: 'collected', check: (s) => assert.equal(s.reason, 'terminated') });
    given(create(), receive(10), verify()).when(cmd('terminate')).then({ error: 'already-complete' });
    given(create(), receive(10), verify()).when(cmd('expire')).then({ error: 'invalid-transition' });
    given(create(), cmd('terminate')).when(receive(1)).then({ error: 'gone' });
    given(create(), cmd('terminate')).when(cmd('terminate')).then({ error: 'gone' });
  });

  it('refuses a second create and commands without a lifecycle', () => {
    given(create()).when(create()).then({ error: 'already-exists' });
    given().when(receive(1)).then({ error: 'not-found' });
  });
});

describe('asset lifecycle: stored assets', () => {
  const stored = [create(10, true)];

  it('references count up and down; the last one gone orphans the asset', () => {
    given(...stored)
      .when(cmd('reference'))
      .then({ status: 'referenced', check: (s) => assert.equal(s.references, 1) });
    given(...stored, cmd('reference'))
      .when(cmd('reference'))
      .then({ status: 'referenced', check: (s) => assert.equal(s.references, 2) });
    given(...stored, cmd('reference'), cmd('reference'))
      .when(cmd('unreference'))
      .then({ status: 'referenced', events: ['unreferenced'], check: (s) => assert.equal(s.references, 1) });
    given(...stored, cmd('reference'))
      .when(cmd('unreference'))
      .then({ status: 'orphaned', events: ['unreferenced', 'orphaned'] });
    given(...stored)
      .when(cmd('unreference'))
      .then({ error: 'not-referenced' });
  });

  it('an orphan is referenced again or revived by a new upload, else collected after its grace', () => {
    const orphaned = [...stored, cmd('reference', 1), cmd('unreference', 2)];
    given(...orphaned)
      .when(cmd('reference'))
      .then({ status: 'referenced', check: (s) => assert.equal(s.references, 1) });
    given(...orphaned)
      .when(cmd('revive'))
      .then({ status: 'verified', events: ['revived'] });
    given(...orphaned)
      .when(cmd('collect'))
      .then({ status: 'collected', check: (s) => assert.equal(s.reason, 'orphan-grace') });
    given(...stored)
      .when(cmd('revive'))
      .then({ status: 'verified', events: [] });
    given(...stored)
      .when(cmd('collect'))
      .then({ error: 'invalid-transition' });
    given(...orphaned, cmd('collect'))
      .when(cmd('reference'))
      .then({ error: 'gone' });
  });

  it('only an unreferenced verified asset is orphaned by time', () => {
    given(...stored)
      .when(cmd('orphan'))
      .then({ status: 'orphaned' });
    given(...stored, cmd('reference'))
      .when(cmd('orphan'))
      .then({ error: 'invalid-transition' });
  });
});

describe('asset lifecycle: what is due, and what is published', () => {
  const timers = { orphanUnreferencedAfterMs: 0, orphanGraceMs: 60_000 };
  const state = (commands: LifecycleCommand[]) =>
    commands.reduce<Lifecycle | undefined>((s, c) => {
      const d = decide(s, c);
      assert.ok(d.ok);
      return replay(s, d.events);
    }, undefined)!;

  it('expires open uploads at their expiry, orphans and collects by the configured times', () => {
    const open = state([create()]);
    assert.equal(dueCommand(open, at(10), { ...timers, expiresAt: at(11) }), undefined);
    assert.deepEqual(dueCommand(open, at(11), { ...timers, expiresAt: at(11) }), { type: 'expire', at: at(11) });
    const verified = state([create(10, true)]);
    assert.equal(dueCommand(verified, at(59), timers), undefined, 'never orphaned by time when the ttl is 0');
    assert.deepEqual(dueCommand(verified, at(30), { ...timers, orphanUnreferencedAfterMs: 30_000 }), { type: 'orphan', at: at(30) });
    const orphaned = state([create(10, true), cmd('orphan', 0)]);
    assert.equal(dueCommand(orphaned, at(59), timers), undefined);
    assert.deepEqual(dueCommand(orphaned, new Date(Date.parse(at(0)) + 60_000).toISOString(), timers)?.type, 'collect');
  });

  it('every status is reachable and each change is reported once with a stable message id', () => {
    const seen = new Set<LifecycleStatus>();
    const walk: LifecycleCommand[] = [create(), receive(4), receive(6, 2), verify(), cmd('reference'), cmd('unreference'), cmd('collect', 9)];
    let s: Lifecycle | undefined;
    const reported: string[] = [];
    for (const c of walk) {
      const d = decide(s, c);
      assert.ok(d.ok);
      for (const change of statusChanges(s, d.events)) {
        seen.add(change.to);
        reported.push(`${change.from ?? '-'}>${change.to}`);
        const message = transitionMessage({ workspace: 'w', sha256: 'aa', contentType: 'image/png', fileClass: 'image' }, change, 'u1');
        assert.equal(message.status, change.to);
      }
      s = replay(s, d.events);
    }
    assert.deepEqual(reported, ['->pending', 'pending>uploading', 'uploading>verified', 'verified>referenced', 'referenced>orphaned', 'orphaned>collected']);
    assert.deepEqual([...seen].sort(), [...LIFECYCLE_STATUSES].sort());
    assert.equal(transitionMessageId({ uploadId: 'u1' }, 'verified'), 'upload:u1:verified');
    assert.notEqual(transitionMessageId({ workspace: 'w', sha256: 'aa', generation: 1 }, 'orphaned'), transitionMessageId({ workspace: 'w', sha256: 'aa', generation: 3 }, 'orphaned'));
  });
});
