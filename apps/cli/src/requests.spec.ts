import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as api from './requests';

describe('requests: each command’s ops-api call', () => {
  it('leaves undefined query values out and keeps the order given', () => {
    assert.equal(api.pathWithQuery(api.devices({ site: 'lab', behind: true, limit: 5 })), '/v1/devices?site=lab&fallingBehind=true&limit=5');
    assert.equal(api.pathWithQuery(api.devices({})), '/v1/devices');
    assert.equal(api.pathWithQuery(api.devices({ behind: false, staleAfter: 60, behindThreshold: 0 })), '/v1/devices?staleAfterSeconds=60&behindThreshold=0');
    assert.equal(api.pathWithQuery(api.sites({ workspace: 'acme', staleAfter: 6 })), '/v1/sites?workspace=acme&staleAfterSeconds=6');
    assert.equal(api.pathWithQuery(api.uploads({ stalledAfter: 30 })), '/v1/assets?stalledAfterSeconds=30');
    assert.equal(api.pathWithQuery(api.backlog({ by: 'class', workspace: 'acme' })), '/v1/assets/backlog?by=class&workspace=acme');
    assert.equal(api.pathWithQuery(api.queues({ workspace: 'acme', behind: true, waitThreshold: 60 })), '/v1/queues?workspace=acme&fallingBehind=true&waitThresholdSeconds=60');
    assert.equal(api.pathWithQuery(api.queues({})), '/v1/queues');
  });

  it('maps status and lag onto the overview and the streams', () => {
    assert.deepEqual(api.overview(), { method: 'GET', path: '/v1/overview' });
    assert.deepEqual(api.streams(), { method: 'GET', path: '/v1/streams' });
  });

  it('parked: list filters, one entry, re-drive and skip with the reason as the body', () => {
    assert.equal(api.pathWithQuery(api.parkedList({ status: 'all', code: 'unknown-entity-type', after: '42' })), '/v1/parked?status=all&code=unknown-entity-type&after=42');
    assert.deepEqual(api.parkedEntry('merge-p01', 17), { method: 'GET', path: '/v1/parked/merge-p01/17' });
    assert.deepEqual(api.parkedAction('redrive', 'merge-p01', 17, 'photo v1 published'), { method: 'POST', path: '/v1/parked/merge-p01/17/redrive', body: { reason: 'photo v1 published' } });
    assert.deepEqual(api.parkedAction('skip', 'merge-p01', 17, 'never shipped'), { method: 'POST', path: '/v1/parked/merge-p01/17/skip', body: { reason: 'never shipped' } });
  });

  it('conflicts: list, hotspots, one (the id escaped), and a resolution with or without a value', () => {
    assert.equal(api.pathWithQuery(api.conflicts({ workspace: 'ws-a', status: 'all', entityType: 'annotation' })), '/v1/conflicts?workspace=ws-a&status=all&entityType=annotation');
    assert.equal(api.pathWithQuery(api.hotspots({ workspace: 'ws-a' })), '/v1/conflicts/hotspots?workspace=ws-a');
    assert.equal(api.conflict('0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69:label').path, '/v1/conflicts/0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69%3Alabel');
    assert.deepEqual(api.resolve('c:label', { pick: 'ours', hasValue: false, reason: 'keep mine' }).body, { pick: 'ours', reason: 'keep mine' });
    assert.deepEqual(api.resolve('c:label', { pick: 'value', value: null, hasValue: true, reason: 'clear it' }).body, { pick: 'value', value: null, reason: 'clear it' }, 'a null value is a value');
    const withId = api.resolve('c:label', { pick: 'theirs', hasValue: false, reason: 'r', eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69' });
    assert.deepEqual([withId.method, withId.path, withId.body], ['POST', '/v1/conflicts/c%3Alabel/resolve', { pick: 'theirs', reason: 'r', eventId: '0b6f3f4e-5d4c-4b1a-9e7f-2a1d3c4b5a69' }]);
  });

  it('inspect escapes the event id', () => {
    assert.equal(api.inspect('a/b').path, '/v1/events/a%2Fb');
  });

  it('replay: the scope options become the API’s scope, always a dry run, revisions and rate only when given', () => {
    const request = api.replayCreate({
      scope: {
        workspace: 'acme',
        entityType: 'prompt',
        entityId: 'pr-1',
        device: 'tablet-a',
        site: 'lab',
        fromSeq: 10,
        toSeq: 20,
        since: '2026-11-20T00:00:00.000Z',
        until: '2026-11-21T00:00:00.000Z',
      },
      policyRevisions: { prompt: 2 },
      reason: 'titles only grow',
      rate: 500,
    });
    assert.deepEqual(request, {
      method: 'POST',
      path: '/v1/replays',
      body: {
        scope: {
          workspace: 'acme',
          entityType: 'prompt',
          entityId: 'pr-1',
          deviceId: 'tablet-a',
          site: 'lab',
          fromSeq: 10,
          toSeq: 20,
          fromTime: '2026-11-20T00:00:00.000Z',
          toTime: '2026-11-21T00:00:00.000Z',
        },
        policyRevisions: { prompt: 2 },
        reason: 'titles only grow',
        dryRun: true,
        eventsPerSecond: 500,
      },
    });
    assert.deepEqual(api.replayCreate({ scope: {}, policyRevisions: {}, reason: 'everything' }).body, { scope: {}, reason: 'everything', dryRun: true });
    assert.deepEqual(api.replayCreate({ scope: {}, policyRevisions: {}, reason: 'how big', planOnly: true }).body, { scope: {}, reason: 'how big', dryRun: true, planOnly: true });
    assert.deepEqual(api.replayCreate({ scope: {}, policyRevisions: {}, reason: 'everything', planOnly: false }).body, { scope: {}, reason: 'everything', dryRun: true });
  });

  it('replay: list, one, diff pages, swap and cancel', () => {
    const id = '4f1c2d3e-0000-4000-8000-000000000001';
    assert.equal(api.pathWithQuery(api.replayList({ status: 'built', limit: 5 })), '/v1/replays?status=built&limit=5');
    assert.deepEqual(api.replayJob(id), { method: 'GET', path: `/v1/replays/${id}` });
    assert.equal(api.pathWithQuery(api.replayDiff(id, { change: 'all', limit: 2, after: 'WyJhIl0' })), `/v1/replays/${id}/diff?change=all&limit=2&after=WyJhIl0`);
    assert.deepEqual(api.replaySwap(id, 'ab'.repeat(32), 'apply'), { method: 'POST', path: `/v1/replays/${id}/swap`, body: { confirm: 'ab'.repeat(32), reason: 'apply' } });
    assert.deepEqual(api.replayCancel(id, 'not needed'), { method: 'POST', path: `/v1/replays/${id}/cancel`, body: { reason: 'not needed' } });
  });
});
