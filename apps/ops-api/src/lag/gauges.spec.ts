import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SERIES, OTHER, topSeries } from './gauges';

const ws = (name: string, open: number) => ({ labels: { workspace: name }, values: [open] });

describe('topSeries (bounded label cardinality)', () => {
  it('keeps every entry while there are no more than the cap', () => {
    const entries = [ws('a', 1), ws('b', 3)];
    assert.deepEqual(topSeries(entries, 2, { workspace: OTHER }), [ws('b', 3), ws('a', 1)]);
  });

  it('keeps the largest, sums the rest value by value into one _other series, and picks ties stably', () => {
    const sites = [
      { labels: { workspace: 'w', site: 'x' }, values: [0, 5] },
      { labels: { workspace: 'w', site: 'y' }, values: [2, 1] },
      { labels: { workspace: 'w', site: 'z' }, values: [0, 9] },
      { labels: { workspace: 'v', site: 'x' }, values: [0, 9] },
    ];
    const top = topSeries(sites, 2, { workspace: OTHER, site: OTHER });
    assert.deepEqual(top, [
      { labels: { workspace: 'w', site: 'y' }, values: [2, 1] },
      { labels: { workspace: 'v', site: 'x' }, values: [0, 9] },
      { labels: { workspace: OTHER, site: OTHER }, values: [0, 14] },
    ]);
  });

  it('never reports more than MAX_SERIES + 1 series, and the total is kept', () => {
    const many = Array.from({ length: 10 * MAX_SERIES }, (_, i) => ws(`w${i}`, i % 7));
    const top = topSeries(many, MAX_SERIES, { workspace: OTHER });
    assert.equal(top.length, MAX_SERIES + 1);
    assert.equal(
      top.reduce((n, e) => n + e.values[0]!, 0),
      many.reduce((n, e) => n + e.values[0]!, 0),
    );
  });
});
