// Replays: scoped dry runs rebuilt into a shadow and diffed against live; progress while they build; the
// diff; and the swap, confirmed with the digest of the diff on screen. Nothing live changes before a swap.
import { ApiError, query } from '../api.js';
import { age, badge, facts, fill, h, json, num, problemNodes, section, short, table, time } from '../dom.js';

const ENDED = ['swapped', 'cancelled', 'failed', 'stale'];
const STATUS_KIND = { queued: 'info', planning: 'info', building: 'info', diffing: 'info', built: 'warn', swapped: 'ok', cancelled: 'muted', failed: 'bad', stale: 'bad' };
const CHANGES = ['differs', 'changed', 'unchanged', 'added', 'removed', 'all'];

const status = (s) => badge(s, STATUS_KIND[s] ?? 'muted');
const scopeText = (scope) =>
  Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(' · ') || 'everything';
const revisionsText = (r) =>
  Object.entries(r ?? {})
    .map(([t, n]) => `${t}@${n}`)
    .join(', ') || 'as live';

function progress(job) {
  const p = job.progress;
  return h('div', { class: 'progress' }, h('progress', { max: 100, value: p.percent, 'aria-label': `${p.percent}% rebuilt` }), h('span', { class: 'progress-text' }, `${num(p.percent, 1)}%`));
}

function summary(s) {
  if (!s) return '—';
  const e = s.entities;
  return `${num(e.affected)} entities: ${num(e.changed)} changed, ${num(e.unchanged)} unchanged, ${num(e.added)} added, ${num(e.removed)} removed`;
}

// ---- the list and the request form -----------------------------------------------------------------

function requestForm({ api }) {
  const problemBox = h('div', { class: 'problem', role: 'alert', hidden: true });
  const input = (name, label, attrs = {}) =>
    h('div', { class: 'field' }, h('label', { for: `replay-${name}` }, label), h('input', { id: `replay-${name}`, name, type: 'text', autocomplete: 'off', ...attrs }));
  const form = h(
    'form',
    { class: 'replay-form', id: 'replay-form' },
    h(
      'div',
      { class: 'grid' },
      input('workspace', 'Workspace', { required: true }),
      input('entityType', 'Entity type'),
      input('entityId', 'Entity id'),
      input('deviceId', 'Device'),
      input('site', 'Site'),
      input('fromSeq', 'From journal seq', { inputmode: 'numeric' }),
      input('toSeq', 'To journal seq', { inputmode: 'numeric' }),
      input('fromTime', 'From (ISO time, inclusive)', { placeholder: '2026-11-20T00:00:00Z' }),
      input('toTime', 'To (ISO time, exclusive)'),
      input('policyRevisions', 'Policy revisions', { placeholder: 'prompt=2, annotation=1' }),
      input('eventsPerSecond', 'Events per second', { inputmode: 'numeric', placeholder: '2000' }),
    ),
    h('div', { class: 'field' }, h('label', { for: 'replay-reason' }, 'Reason (audited)'), h('textarea', { id: 'replay-reason', name: 'reason', rows: 2, required: true })),
    problemBox,
    h('button', { type: 'submit', class: 'primary' }, 'Request dry run'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const scope = {};
    for (const k of ['workspace', 'entityType', 'entityId', 'deviceId', 'site', 'fromTime', 'toTime']) if (v[k].trim()) scope[k] = v[k].trim();
    for (const k of ['fromSeq', 'toSeq']) if (v[k].trim()) scope[k] = Number(v[k].trim());
    const body = { scope, reason: v.reason, dryRun: true };
    if (v.eventsPerSecond.trim()) body.eventsPerSecond = Number(v.eventsPerSecond.trim());
    if (v.policyRevisions.trim()) {
      body.policyRevisions = {};
      for (const pair of v.policyRevisions.split(',')) {
        const [type, revision] = pair.split('=').map((x) => x?.trim());
        if (!type || !/^\d+$/.test(revision ?? '')) {
          fill(problemBox, `Policy revisions: "${pair.trim()}" is not type=revision`);
          problemBox.hidden = false;
          return;
        }
        body.policyRevisions[type] = Number(revision);
      }
    }
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const job = await api('/v1/replays', { method: 'POST', body });
      location.hash = `#/replays/${job.id}`;
    } catch (error) {
      fill(problemBox, problemNodes(error));
      problemBox.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return h(
    'details',
    { class: 'card', open: true },
    h('summary', {}, h('h2', {}, 'Request a dry run')),
    h('p', { class: 'muted' }, 'Every criterion given must hold for a journal event to be rebuilt. A replay builds a shadow and a diff; live changes only when you swap it.'),
    form,
  );
}

export const replays = {
  title: 'Replays',
  setup(ctx) {
    fill(ctx.above, requestForm(ctx));
  },
  load: ({ api }) => api(`/v1/replays${query({ limit: 50 })}`),
  render(o, { body }) {
    fill(
      body,
      section(
        'Replays',
        table(
          [
            { label: 'Replay', cell: (r) => h('a', { href: `#/replays/${r.id}`, class: 'mono' }, r.id.slice(0, 8)) },
            { label: 'Status', cell: (r) => status(r.status) },
            { label: 'Scope', cell: (r) => scopeText(r.scope) },
            { label: 'Policy', cell: (r) => revisionsText(r.policyRevisions) },
            { label: 'Progress', cell: progress },
            { label: 'Diff', cell: (r) => summary(r.diff?.summary) },
            { label: 'Reason', cell: (r) => r.reason },
            { label: 'By', cell: (r) => r.requestedBy },
            { label: 'Requested', cell: (r) => time(r.createdAt) },
          ],
          o.replays,
          { key: (r) => r.id, empty: 'No replays yet.' },
        ),
      ),
    );
  },
};

// ---- one replay: progress, diff, swap and cancel ---------------------------------------------------

function swap(job, ctx) {
  const digest = job.diff.digest;
  ctx.dialog({
    title: 'Swap the shadow into live',
    intro: [
      h('p', {}, `Live becomes the rebuilt shadow for ${summary(job.diff.summary)}.`),
      h('p', {}, 'The swap applies exactly the diff you read, identified by its digest; it is refused if live changed since.'),
      h('p', {}, 'Digest: ', h('code', {}, digest)),
    ],
    fields: [
      { name: 'confirmed', type: 'checkbox', label: 'I read this diff and want live to become the shadow', required: true },
      { name: 'reason', label: 'Reason (audited)', type: 'textarea', rows: 2, required: true },
    ],
    submitLabel: 'Swap',
    danger: true,
    submit: async ({ confirmed, reason }) => {
      if (!confirmed) throw new ApiError(0, { title: 'Not confirmed', detail: 'tick the confirmation to swap' });
      const r = await ctx.api(`/v1/replays/${job.id}/swap`, { method: 'POST', body: { reason, confirm: digest } });
      return `Swapped: ${num(r.swap?.changed ?? 0)} entities changed, ${num(r.swap?.changes ?? 0)} changes published.`;
    },
  });
}

function cancel(job, ctx) {
  ctx.dialog({
    title: 'Cancel the replay',
    intro: h('p', {}, 'The worker stops and drops the shadow. Live is not touched.'),
    fields: [{ name: 'reason', label: 'Reason (audited)', type: 'textarea', rows: 2, required: true }],
    submitLabel: 'Cancel replay',
    danger: true,
    submit: async ({ reason }) => {
      await ctx.api(`/v1/replays/${job.id}/cancel`, { method: 'POST', body: { reason } });
      return 'Replay cancelled.';
    },
  });
}

const fieldsChanged = (e) => (e.fields?.length ? e.fields.map((f) => h('div', {}, h('strong', {}, f.field), ': ', h('code', {}, json(f.live)), ' → ', h('code', {}, json(f.shadow)))) : '—');

export const replayDetail = {
  title: (route) => `Replay ${route.id.slice(0, 8)}`,
  setup({ tools, route, setParams }) {
    fill(
      tools,
      h('a', { href: '#/replays' }, '← all replays'),
      h('label', { for: 'diff-change' }, ' Diff shows '),
      h(
        'select',
        { id: 'diff-change', on: { change: (ev) => setParams({ change: ev.target.value === 'differs' ? '' : ev.target.value }) } },
        CHANGES.map((c) => h('option', { value: c, selected: (route.params.change ?? 'differs') === c }, c)),
      ),
    );
  },
  async load({ api, route }) {
    const job = await api(`/v1/replays/${encodeURIComponent(route.id)}`);
    const diff = job.diff ? await api(`/v1/replays/${job.id}/diff${query({ change: route.params.change, limit: 100 })}`) : null;
    return { job, diff };
  },
  render({ job, diff }, ctx) {
    const p = job.progress;
    const plan = job.plan;
    fill(
      ctx.body,
      h(
        'div',
        { class: 'actions bar' },
        status(job.status),
        job.status === 'built' && job.diff ? h('button', { type: 'button', class: 'danger', on: { click: () => swap(job, ctx) } }, 'Swap into live…') : null,
        ENDED.includes(job.status) ? null : h('button', { type: 'button', on: { click: () => cancel(job, ctx) } }, 'Cancel…'),
      ),
      job.error ? h('div', { class: 'problem' }, h('strong', {}, 'Failed: '), job.error) : null,
      h(
        'div',
        { class: 'columns' },
        section(
          'Request',
          facts([
            ['Id', h('span', { class: 'mono' }, job.id)],
            ['Scope', scopeText(job.scope)],
            ['Policy revisions', revisionsText(job.policyRevisions)],
            ['Reason', job.reason],
            ['Requested by', job.requestedBy],
            ['Requested', time(job.createdAt)],
            ['Planned', time(job.plannedAt)],
            ['Built', time(job.builtAt)],
            ['Finished', time(job.finishedAt)],
          ]),
        ),
        section(
          'Progress',
          progress(job),
          facts([
            ['Phase', p.phase],
            ['Events rebuilt', `${num(p.eventsDone)} of ${num(p.eventsTotal)}`],
            ['Rate', p.eventsPerSecond === null ? '—' : `${num(p.eventsPerSecond, 1)} events/s (limit ${num(job.eventsPerSecond)})`],
            ['ETA', p.etaSeconds === null ? '—' : age(p.etaSeconds)],
            ['Resumes', num(p.resumes)],
            ['Selected events', num(plan.selectedEvents)],
            ['Affected entities', num(plan.affectedEntities)],
            ['Journal scanned', `${num(plan.scanned.events)} events up to seq ${num(plan.scanned.lastSeq)}`],
            ['Estimate', plan.estimate ? `${age(plan.estimate.seconds)} (${plan.estimate.basis})` : '—'],
          ]),
        ),
      ),
      job.swap ? section('Swap', h('pre', { class: 'json' }, JSON.stringify(job.swap, null, 2))) : null,
      job.diff
        ? section(
            'Diff against live',
            facts([
              ['Entities', summary(job.diff.summary)],
              [
                'Fields',
                Object.entries(job.diff.summary.fields)
                  .map(([f, n]) => `${f}: ${n}`)
                  .join(', ') || '—',
              ],
              ['Conflicts', `${num(job.diff.summary.conflicts.opened)} opened, ${num(job.diff.summary.conflicts.closed)} closed`],
              [
                'Receipts',
                Object.entries(job.diff.summary.receipts)
                  .map(([k, n]) => `${k}: ${n}`)
                  .join(', ') || '—',
              ],
              ['Digest', h('code', { class: 'digest' }, job.diff.digest)],
            ]),
            diff
              ? table(
                  [
                    { label: 'Entity', cell: (e) => h('strong', {}, `${e.entityType}/${e.entityId}`) },
                    { label: 'Workspace', cell: (e) => e.workspace },
                    { label: 'Change', cell: (e) => badge(e.change, e.change === 'unchanged' ? 'muted' : 'warn') },
                    { label: 'Fields (live → shadow)', cell: fieldsChanged },
                    { label: 'Conflicts', cell: (e) => `${e.conflicts?.opened?.length ?? 0} opened, ${e.conflicts?.closed?.length ?? 0} closed` },
                    { label: 'Receipts', cell: (e) => (e.receipts?.length ? e.receipts.map((r) => h('div', {}, short(r.eventId), ` ${r.live ?? 'none'} → ${r.shadow ?? 'none'}`)) : '—') },
                    { label: 'Events', cell: (e) => num(e.selectedEvents), class: 'num' },
                  ],
                  diff.entities,
                  { key: (e) => `${e.workspace}/${e.entityType}/${e.entityId}`, empty: `No entity ${ctx.route.params.change ?? 'differs'}.` },
                )
              : null,
            diff?.next ? h('p', { class: 'muted' }, `The first ${diff.entities.length} are shown.`) : null,
          )
        : null,
    );
  },
};
