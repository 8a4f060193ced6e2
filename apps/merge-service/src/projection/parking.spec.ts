import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PARKED_HEADERS } from '@tidemark/contracts';
import { buildHeaders } from '@tidemark/messaging';
import { latestSite } from '@tidemark/merge';
import { markOf } from './projector';

describe('markOf: the operator action a journal message carries', () => {
  const headers = (h: Record<string, string>) => ({ headers: buildHeaders(h) });

  it('reads a re-drive, an edit and a skip with the parked entry and the decoded reason', () => {
    const reason = encodeURIComponent('schema photo v1 published; line 2\nhas ünïcode');
    assert.deepStrictEqual(markOf(headers({ [PARKED_HEADERS.action]: 'redrive', [PARKED_HEADERS.consumer]: 'merge-p01', [PARKED_HEADERS.seq]: '17', [PARKED_HEADERS.reason]: reason })), {
      action: 'redrive',
      consumer: 'merge-p01',
      seq: 17,
      reason: 'schema photo v1 published; line 2\nhas ünïcode',
    });
    assert.equal(markOf(headers({ [PARKED_HEADERS.action]: 'edit', [PARKED_HEADERS.consumer]: 'merge-p01', [PARKED_HEADERS.seq]: '3' }))?.reason, null);
    assert.equal(
      markOf(headers({ [PARKED_HEADERS.action]: 'skip', [PARKED_HEADERS.consumer]: 'merge-p01', [PARKED_HEADERS.seq]: '3', [PARKED_HEADERS.reason]: '100%' }))?.reason,
      '100%',
      'a reason that is not URI-encoded is kept as written',
    );
  });

  it('ignores a device message and a malformed mark', () => {
    assert.equal(markOf({ headers: undefined }), undefined);
    assert.equal(markOf(headers({ 'tm-workspace': 'default' })), undefined);
    assert.equal(markOf(headers({ [PARKED_HEADERS.action]: 'delete', [PARKED_HEADERS.seq]: '3' })), undefined);
    assert.equal(markOf(headers({ [PARKED_HEADERS.action]: 'redrive', [PARKED_HEADERS.seq]: 'x' })), undefined);
    assert.equal(markOf(headers({ [PARKED_HEADERS.action]: 'redrive', [PARKED_HEADERS.seq]: '0' })), undefined);
  });
});

describe('latestSite: a device’s site is that of its latest event naming one', () => {
  const none = { site: null, siteSeq: null };

  it('takes the site of the highest deviceSeq that names one', () => {
    assert.deepStrictEqual(
      latestSite(none, [
        { seq: 3, site: 'lab' },
        { seq: 5, site: 'field' },
        { seq: 4, site: 'home' },
      ]),
      { site: 'field', siteSeq: 5 },
    );
  });

  it('is the same whatever order the batches commit in', () => {
    const a = [{ seq: 2, site: 'lab' }];
    const b = [{ seq: 7, site: 'field' }];
    assert.deepStrictEqual(latestSite(latestSite(none, a), b), latestSite(latestSite(none, b), a));
    assert.deepStrictEqual(latestSite(latestSite(none, b), a), { site: 'field', siteSeq: 7 });
  });

  it('keeps the recorded site when nothing later names one', () => {
    assert.deepStrictEqual(latestSite({ site: 'lab', siteSeq: 9 }, []), { site: 'lab', siteSeq: 9 });
    assert.deepStrictEqual(latestSite({ site: 'lab', siteSeq: 9 }, [{ seq: 4, site: 'field' }]), { site: 'lab', siteSeq: 9 });
  });
});
