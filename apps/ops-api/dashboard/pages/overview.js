// Overview: every service's readiness, the journal, consumer and projection lag, ingest and projection
// rates with their short history (sparklines), and what waits for an operator (parked, open conflicts, uploads).
import { age, badge, bytes, fill, h, num, section, sparkline, table, tile, time } from '../dom.js';

const rate = (value) => (value === null || value === undefined ? 'sampling…' : `${num(value, 1)}/s`);

function readiness(s) {
  if (s.ready) return badge('ready', 'ok');
  return badge(s.status === null ? 'no answer' : `not ready (${s.status})`, 'bad');
}

/** What /readyz said, as the failing checks (or the reason it could not be asked). */
function readinessDetail(s) {
  if (typeof s.detail === 'string') return s.detail;
  const checks = Array.isArray(s.detail?.checks) ? s.detail.checks : [];
  const failing = checks.filter((c) => !c.ok);
  if (failing.length) return failing.map((c) => `${c.name}: ${c.error ?? 'failing'}`).join('; ');
  return checks.map((c) => c.name).join(', ') || (s.detail?.status ?? '');
}

/** Sparklines of the samples this ops-api instance keeps: rates between samples and the projection backlog. */
function history(hist) {
  const points = hist?.points ?? [];
  const span = points.length > 1 ? (Date.parse(points.at(-1).at) - Date.parse(points[0].at)) / 1000 : 0;
  return section(
    'Last samples',
    h(
      'p',
      { class: 'muted' },
      points.length ? `${num(points.length)} samples over ${age(span)}, one every ${age(hist.intervalMs / 1000)} (at most ${num(hist.capacity)} kept by this ops-api instance)` : 'No samples yet.',
    ),
    h(
      'div',
      { class: 'sparklines' },
      sparkline(
        'Ingest / s',
        points.map((p) => p.ingestPerSecond),
      ),
      sparkline(
        'Projection / s',
        points.map((p) => p.projectPerSecond),
      ),
      sparkline(
        'Lag (messages)',
        points.map((p) => p.lagMessages),
        (v) => num(v),
      ),
      sparkline(
        'Lag (oldest)',
        points.map((p) => p.lagSeconds),
        age,
      ),
    ),
  );
}

export default {
  title: 'Overview',
  load: ({ api }) => api('/v1/overview'),
  render(o, { body }) {
    const projectionLag = o.projection?.lag;
    const behind = o.projection ? o.projection.partitionsBehind > 0 : false;
    fill(
      body,
      o.unavailable?.length ? h('div', { class: 'problem' }, h('strong', {}, 'Partly unavailable: '), o.unavailable.map((u) => `${u.part}: ${u.detail}`).join('; ')) : null,
      h(
        'div',
        { class: 'tiles' },
        tile('Services ready', o.ready === null ? 'none configured' : o.ready ? 'all ready' : `${o.services.filter((s) => !s.ready).length} not ready`, {
          kind: o.ready === false ? 'bad' : o.ready ? 'ok' : undefined,
        }),
        tile('Ingest rate', rate(o.rates?.ingestPerSecond), { note: o.rates?.windowSeconds ? `over ${num(o.rates.windowSeconds, 0)} s` : null }),
        tile('Projection rate', rate(o.rates?.projectPerSecond), { note: o.rates?.samples !== undefined ? `${o.rates.samples} samples` : null }),
        tile('Projection lag', projectionLag ? `${num(projectionLag.messages)} msgs` : '—', {
          kind: behind ? 'warn' : 'ok',
          note: projectionLag ? `oldest ${age(projectionLag.seconds)}` : null,
          href: '#/streams',
        }),
        tile('Oldest pending', o.consumers ? age(o.consumers.oldestPendingSeconds) : '—', {
          kind: o.consumers?.withBacklog ? 'warn' : undefined,
          note: o.consumers ? `${o.consumers.withBacklog} of ${o.consumers.count} consumers with a backlog` : null,
          href: '#/streams',
        }),
        tile('Parked', num(o.parked), { kind: o.parked ? 'bad' : 'ok', href: '#/parked' }),
        tile('Open conflicts', num(o.conflictsOpen), { kind: o.conflictsOpen ? 'warn' : 'ok', href: '#/conflicts' }),
        tile('Uploads in progress', num(o.uploads?.inProgress), { note: o.uploads ? `${bytes(o.uploads.bytesPending)} pending` : null, href: '#/assets' }),
      ),
      history(o.history),
      section(
        'Services',
        table(
          [
            { label: 'Service', cell: (s) => h('strong', {}, s.name) },
            { label: 'Readiness', cell: readiness },
            { label: 'Checks', cell: readinessDetail },
            { label: 'Latency', cell: (s) => `${num(s.latencyMs)} ms`, class: 'num' },
            { label: 'URL', cell: (s) => h('span', { class: 'mono' }, s.url) },
          ],
          o.services,
          { key: (s) => s.name, rowClass: (s) => (s.ready ? '' : 'bad'), empty: 'No services configured (SERVICE_URLS is empty).' },
        ),
      ),
      h(
        'div',
        { class: 'columns' },
        section(
          'Journal and streams',
          o.streams
            ? table(
                [
                  { label: 'Streams', cell: () => num(o.streams.count), class: 'num' },
                  { label: 'Messages', cell: () => num(o.streams.messages), class: 'num' },
                  { label: 'Bytes', cell: () => bytes(o.streams.bytes), class: 'num' },
                  { label: 'Journal last seq', cell: () => num(o.streams.journal?.lastSeq), class: 'num' },
                  { label: 'Journal last event', cell: () => time(o.streams.journal?.lastAt) },
                ],
                [o.streams],
              )
            : h('p', { class: 'empty' }, 'Unavailable'),
        ),
        section(
          'Consumers and projection',
          o.consumers && o.projection
            ? table(
                [
                  { label: 'Consumers', cell: () => num(o.consumers.count), class: 'num' },
                  { label: 'Redelivered', cell: () => num(o.consumers.redelivered), class: 'num' },
                  { label: 'Partitions', cell: () => num(o.projection.partitions), class: 'num' },
                  { label: 'Behind', cell: () => (o.projection.partitionsBehind ? badge(String(o.projection.partitionsBehind), 'warn') : badge('0', 'ok')) },
                  { label: 'Lag', cell: () => `${num(o.projection.lag.messages)} msgs · ${age(o.projection.lag.seconds)}` },
                ],
                [o.consumers],
              )
            : h('p', { class: 'empty' }, 'Unavailable'),
        ),
      ),
    );
  },
};
