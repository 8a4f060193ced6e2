import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assessDevices, behindBy, pageByOffset, sortDevices, summarizeSites, type DeviceFacts } from './devices';

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();
const POLICY = { staleAfterSeconds: 300, behindThreshold: 100 };

function device(id: string, parts: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    workspace: 'ws',
    deviceId: id,
    site: 'lab',
    label: null,
    status: 'active',
    lastPushedSeq: 10,
    lastPushAt: ago(5),
    contiguousSeq: 10,
    maxAppliedSeq: 10,
    ahead: [],
    events: 10,
    lastAcceptedAt: ago(5),
    abandoned: [],
    ...parts,
  };
}

describe('behind-by: pushed sequences not applied yet', () => {
  it('counts what is pushed above the contiguous mark and not applied, gaps included', () => {
    assert.equal(behindBy({ lastPushedSeq: 10, contiguousSeq: 10, ahead: [], abandoned: [] }), 0);
    assert.equal(behindBy({ lastPushedSeq: 100, contiguousSeq: 90, ahead: [], abandoned: [] }), 10);
    assert.equal(behindBy({ lastPushedSeq: 100, contiguousSeq: 90, ahead: [95, 96, 99], abandoned: [] }), 7);
    assert.equal(behindBy({ lastPushedSeq: 95, contiguousSeq: 90, ahead: [95, 120], abandoned: [] }), 4, 'applied sequences above the last push (from before a re-registration) do not count');
    assert.equal(behindBy({ lastPushedSeq: 5, contiguousSeq: 9, ahead: [], abandoned: [] }), 0, 'applied beyond what the registry saw pushed: nothing behind');
    assert.equal(behindBy({ lastPushedSeq: null, contiguousSeq: 9, ahead: [], abandoned: [] }), null, 'pushes unknown');
  });
});

describe('abandoned sequences: what a device gave up for good is neither missing nor behind', () => {
  it('a device that discarded 3000 refused events is not falling behind once every pushed sequence is applied', () => {
    // Sequences 1..3000 were refused and discarded on the device; 3001..3100 were pushed and applied.
    const applied = Array.from({ length: 100 }, (_, i) => 3001 + i);
    const before = device('d', { lastPushedSeq: 3100, contiguousSeq: 0, maxAppliedSeq: 3100, ahead: applied, events: 100 });
    const [unreported] = assessDevices([before], NOW, POLICY);
    assert.deepEqual([unreported!.missing, unreported!.behindBy, unreported!.fallingBehind, unreported!.abandoned], [3000, 3000, true, 0], 'unreported: missing 3000 (the report)');
    const [reported] = assessDevices(
      [
        {
          ...before,
          abandoned: [
            [1, 2000],
            [1500, 3000],
          ],
        },
      ],
      NOW,
      POLICY,
    );
    assert.deepEqual([reported!.missing, reported!.behindBy, reported!.fallingBehind, reported!.gaps], [0, 0, false, []]);
    assert.deepEqual([reported!.abandoned, reported!.abandonedRanges], [3000, [[1, 3000]]]);
  });

  it('only abandoned sequences are excused: a real gap still counts, and an abandoned sequence applied after all counts as applied', () => {
    const [d] = assessDevices(
      [
        device('d', {
          lastPushedSeq: 20,
          contiguousSeq: 4,
          maxAppliedSeq: 20,
          ahead: [8, 9, 10, 15, 16, 17, 18, 19, 20],
          abandoned: [
            [5, 7],
            [9, 12],
          ],
        }),
      ],
      NOW,
      POLICY,
    );
    assert.deepEqual([d!.missing, d!.gaps, d!.behindBy], [2, [[13, 14]], 2]);
    assert.deepEqual(
      [d!.abandoned, d!.abandonedRanges],
      [
        5,
        [
          [5, 7],
          [11, 12],
        ],
      ],
      '9 and 10 were applied',
    );
    assert.equal(behindBy({ lastPushedSeq: 30, contiguousSeq: 20, ahead: [], abandoned: [[25, 40]] }), 4, 'pushed 21..30, 25..30 abandoned');
  });
});

describe('falling behind', () => {
  it('a device silent longer than staleAfterSeconds while its site is active is stale; the active one is not', () => {
    const [quiet, busy] = assessDevices([device('quiet', { lastPushAt: ago(600), lastAcceptedAt: ago(601) }), device('busy')], NOW, POLICY);
    assert.equal(quiet!.fallingBehind, true);
    assert.deepEqual(
      quiet!.reasons.map((r) => r.code),
      ['stale'],
    );
    assert.match(quiet!.reasons[0]!.detail, /not heard from for 600 s \(more than 300 s\) while site "lab" is active/);
    assert.equal(quiet!.lastSeenAt, ago(600), 'last seen is the later of last push and last applied acceptance');
    assert.equal(quiet!.silentSeconds, 600);
    assert.equal(busy!.fallingBehind, false);
    assert.deepEqual(busy!.reasons, []);
  });

  it('a quiet site as a whole is not falling behind', () => {
    const views = assessDevices([device('a', { lastPushAt: ago(900), lastAcceptedAt: ago(900) }), device('b', { lastPushAt: ago(1200), lastAcceptedAt: ago(1200) })], NOW, POLICY);
    assert.deepEqual(
      views.map((v) => v.fallingBehind),
      [false, false],
    );
  });

  it('activity is compared within the site; devices without a site within their workspace', () => {
    const views = assessDevices(
      [
        device('lab-quiet', { lastPushAt: ago(900), lastAcceptedAt: ago(900) }),
        device('field-busy', { site: 'field' }),
        device('nosite-quiet', { site: null, lastPushAt: ago(900), lastAcceptedAt: ago(900) }),
        device('nosite-busy', { site: null }),
        device('other-ws-quiet', { workspace: 'other', site: null, lastPushAt: ago(900), lastAcceptedAt: ago(900) }),
      ],
      NOW,
      POLICY,
    );
    const by = Object.fromEntries(views.map((v) => [v.deviceId, v.fallingBehind]));
    assert.deepEqual(by, { 'lab-quiet': false, 'field-busy': false, 'nosite-quiet': true, 'nosite-busy': false, 'other-ws-quiet': false });
    assert.match(views[2]!.reasons[0]!.detail, /workspace "ws"/);
  });

  it('a revoked device is never stale, and does not make its site active', () => {
    const [revoked, quiet] = assessDevices([device('revoked', { status: 'revoked' }), device('quiet', { lastPushAt: ago(900), lastAcceptedAt: ago(900) })], NOW, POLICY);
    assert.equal(revoked!.fallingBehind, false);
    assert.equal(quiet!.fallingBehind, false, 'the only recent device of the site is revoked: the site is quiet');
    const [gone] = assessDevices([device('gone', { status: 'revoked', lastPushAt: ago(900), lastAcceptedAt: ago(900) }), device('busy')], NOW, POLICY);
    assert.equal(gone!.fallingBehind, false);
  });

  it('a registered device never heard from, in an active site, is stale', () => {
    const [never] = assessDevices([device('never', { lastPushedSeq: 0, lastPushAt: null, contiguousSeq: 0, maxAppliedSeq: 0, events: 0, lastAcceptedAt: null }), device('busy')], NOW, POLICY);
    assert.equal(never!.lastSeenAt, null);
    assert.equal(never!.silentSeconds, null);
    assert.deepEqual(
      never!.reasons.map((r) => r.detail),
      ['never heard from while site "lab" is active'],
    );
  });

  it('more pushed-but-unapplied sequences than the threshold is behind, with both reasons when both hold', () => {
    const [far, near] = assessDevices([device('far', { lastPushedSeq: 500, lastPushAt: ago(400), lastAcceptedAt: ago(400) }), device('near', { lastPushedSeq: 110 })], NOW, POLICY);
    assert.deepEqual(
      far!.reasons.map((r) => r.code),
      ['stale', 'behind'],
    );
    assert.equal(far!.behindBy, 490);
    assert.match(far!.reasons[1]!.detail, /490 pushed sequences not applied yet \(more than 100\)/);
    assert.equal(near!.behindBy, 100);
    assert.equal(near!.fallingBehind, false, 'at the threshold is not above it');
  });

  it('keeps the sequence facts: missing and gaps below the highest applied', () => {
    const [d] = assessDevices([device('gappy', { lastPushedSeq: 12, contiguousSeq: 3, maxAppliedSeq: 12, ahead: [6, 7, 12], events: 6 })], NOW, POLICY);
    assert.equal(d!.missing, 6);
    assert.deepEqual(d!.gaps, [
      [4, 5],
      [8, 11],
    ]);
    assert.equal(d!.behindBy, 6);
  });
});

describe('sorting, paging and sites', () => {
  const views = assessDevices(
    [
      device('ok-1'),
      device('ok-2', { lastPushAt: ago(60), lastAcceptedAt: ago(60) }),
      device('stale', { lastPushAt: ago(1000), lastAcceptedAt: ago(1000) }),
      device('behind', { lastPushedSeq: 400, contiguousSeq: 10 }),
      device('gappy', { site: 'field', contiguousSeq: 2, maxAppliedSeq: 10, ahead: [10] }),
      device('unregistered', { site: null, status: null, lastPushedSeq: null, lastPushAt: null, lastAcceptedAt: ago(30) }),
    ],
    NOW,
    POLICY,
  );
  const ids = (list: { deviceId: string }[]) => list.map((d) => d.deviceId);

  it('behind: falling behind first, then most behind, then longest silent', () => {
    assert.deepEqual(ids(sortDevices(views, 'behind')), ['behind', 'stale', 'gappy', 'ok-2', 'ok-1', 'unregistered']);
  });

  it('last-seen: longest silent first', () => {
    assert.deepEqual(ids(sortDevices(views, 'last-seen')), ['stale', 'ok-2', 'unregistered', 'behind', 'gappy', 'ok-1']);
  });

  it('missing: most missing first; device: by workspace and id', () => {
    assert.deepEqual(ids(sortDevices(views, 'missing')).slice(0, 1), ['gappy']);
    assert.deepEqual(ids(sortDevices(views, 'device')), ['behind', 'gappy', 'ok-1', 'ok-2', 'stale', 'unregistered']);
  });

  it('pages by offset with a total count and the next offset', () => {
    const sorted = sortDevices(views, 'device');
    assert.deepEqual({ ...pageByOffset(sorted, 0, 4), page: undefined }, { page: undefined, next: '4', total: 6 });
    const last = pageByOffset(sorted, 4, 4);
    assert.deepEqual(ids(last.page), ['stale', 'unregistered']);
    assert.equal(last.next, null);
    assert.deepEqual(pageByOffset(sorted, 10, 4), { page: [], next: null, total: 6 });
  });

  it('sites: counts, falling behind, oldest and newest last-seen, summed backlog; no site last', () => {
    const sites = summarizeSites(views);
    assert.deepEqual(sites, [
      { workspace: 'ws', site: 'field', devices: 1, fallingBehind: 0, oldestLastSeenAt: ago(5), lastSeenAt: ago(5), behindBy: 7, missing: 7, fallingBehindDevices: [] },
      { workspace: 'ws', site: 'lab', devices: 4, fallingBehind: 2, oldestLastSeenAt: ago(1000), lastSeenAt: ago(5), behindBy: 390, missing: 0, fallingBehindDevices: ['behind', 'stale'] },
      { workspace: 'ws', site: null, devices: 1, fallingBehind: 0, oldestLastSeenAt: ago(30), lastSeenAt: ago(30), behindBy: 0, missing: 0, fallingBehindDevices: [] },
    ]);
  });
});
