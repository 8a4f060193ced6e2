import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateWindow } from './rates';

describe('rates over a sliding window', () => {
  it('no rate until two samples; then the increase per second between oldest and newest', () => {
    const w = new RateWindow<'ingest' | 'projected'>(60_000);
    assert.equal(w.rate('ingest'), null);
    w.add({ at: 0, values: { ingest: 100, projected: 50 } });
    assert.equal(w.rate('ingest'), null);
    w.add({ at: 5_000, values: { ingest: 150, projected: 50 } });
    w.add({ at: 10_000, values: { ingest: 300, projected: 90 } });
    assert.equal(w.rate('ingest'), 20);
    assert.equal(w.rate('projected'), 4);
    assert.equal(w.spanSeconds(), 10);
  });

  it('forgets samples older than the window (keeping at least two)', () => {
    const w = new RateWindow<'n'>(10_000);
    w.add({ at: 0, values: { n: 0 } });
    w.add({ at: 5_000, values: { n: 1000 } });
    w.add({ at: 15_000, values: { n: 1010 } });
    w.add({ at: 20_000, values: { n: 1020 } });
    assert.equal(w.size, 2, 'samples at 0 and 5 s are out of the 10 s window ending at 20 s');
    assert.equal(w.rate('n'), 2);
  });

  it('a step down adds nothing (never a negative rate); a sample out of order is ignored', () => {
    const w = new RateWindow<'n'>(60_000);
    w.add({ at: 0, values: { n: 500 } });
    w.add({ at: 1_000, values: { n: 10 } });
    w.add({ at: 500, values: { n: 99_999 } });
    assert.equal(w.size, 2);
    assert.equal(w.rate('n'), 0);
    w.add({ at: 2_000, values: { n: 40 } });
    assert.equal(w.rate('n'), 15, '30 more over 2 s');
  });

  it('refuses a window that is not positive', () => {
    assert.throws(() => new RateWindow(0), /windowMs must be positive/);
  });
});
