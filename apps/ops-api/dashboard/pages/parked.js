// Parked work and retries: entries merge-service set aside with their reason, and the ways out (re-drive,
// edit and re-drive, skip), each asking for the reason the audit log keeps, many re-driven at once;
// consumers redelivering now. The list is paged and filtered.
import { ApiError, query } from '../api.js';
import { Selection, age, badge, fill, h, num, pageSize, pager, section, table, time } from '../dom.js';

const STATUSES = ['parked', 'redriven', 'skipped', 'all'];
const CODES = ['', 'unknown-entity-type', 'unknown-schema-version', 'undecodable', 'failing'];
/** The most entries one bulk call re-drives (ops-api's OPS_BULK_LIMITS.maxItems). */
const BULK_MAX = 100;
const selection = new Selection();
const keyOf = (e) => `${e.consumer}/${e.seq}`;

function redriveMany(ctx) {
  const picked = selection.rows();
  ctx.dialog({
    title: `Re-drive ${picked.length} parked entries`,
    intro: [
      h('p', {}, 'Journals each parked record again, as it is, on its own subject; each is audited with your reason. One refused (no longer parked) does not stop the rest.'),
      h(
        'ul',
        { class: 'picked' },
        picked.slice(0, 12).map((e) => h('li', {}, `${e.consumer} @ ${e.seq} · ${entity(e)} · ${e.code ?? 'parked'}`)),
        picked.length > 12 ? h('li', { class: 'muted' }, `and ${picked.length - 12} more`) : null,
      ),
    ],
    fields: [reasonField()],
    submitLabel: `Re-drive ${picked.length}`,
    submit: async ({ reason }) => {
      const r = await ctx.api('/v1/parked/redrive', { method: 'POST', body: { entries: picked.map((e) => ({ consumer: e.consumer, seq: e.seq })), reason } });
      selection.clear();
      const refused = r.results.filter((x) => x.status === 'refused');
      return `${r.journaled} re-drives journaled${refused.length ? `; ${refused.length} refused: ${refused.map((x) => `${x.consumer} @ ${x.seq} (${x.problem.title})`).join(', ')}` : ''}; merge-service applies them next.`;
    },
  });
}

/** The bulk action's bar: how many are picked (across pages) and the button that re-drives them. */
function bulkBar(ctx) {
  const button = h('button', { type: 'button', class: 'primary', id: 'redrive-picked', on: { click: () => redriveMany(ctx) } });
  const clear = h('button', { type: 'button', class: 'link', on: { click: () => (selection.clear(), ctx.refresh()) } }, 'Clear');
  const note = h('span', { class: 'muted' });
  const update = () => {
    button.textContent = `Re-drive ${selection.size} picked…`;
    button.disabled = selection.size === 0 || selection.size > BULK_MAX;
    clear.hidden = selection.size === 0;
    note.textContent = selection.size > BULK_MAX ? `at most ${BULK_MAX} at once` : 'pick parked entries (on any page) to re-drive them together';
  };
  selection.onChange = update;
  update();
  return h('div', { class: 'actions bar bulk' }, button, clear, note);
}
const entryPath = (e) => `/v1/parked/${encodeURIComponent(e.consumer)}/${e.seq}`;
const entity = (e) => (e.event ? `${e.event.entity.type}/${e.event.entity.id}` : e.subject);
const reasonField = (hint) => ({ name: 'reason', label: 'Reason (audited)', type: 'textarea', rows: 2, required: true, hint });

function journaled(action, r) {
  return `${action} of journal sequence ${r.seq} journaled at sequence ${r.journalSeq}${r.duplicate ? ' (a repeated call: deduplicated)' : ''}; merge-service applies it next.`;
}

function redrive(e, { api, dialog }) {
  dialog({
    title: `Re-drive ${entity(e)}`,
    intro: [h('p', {}, 'Journals the parked record again, as it is, on its own subject: merge-service applies it once, in journal order.'), h('p', { class: 'muted' }, `Parked because: ${e.reason}`)],
    fields: [reasonField('e.g. "photo v1 published"')],
    submitLabel: 'Re-drive',
    submit: async ({ reason }) => journaled('Re-drive', await api(`${entryPath(e)}/redrive`, { method: 'POST', body: { reason } })),
  });
}

function skip(e, { api, dialog }) {
  dialog({
    title: `Skip ${entity(e)}`,
    intro: h('p', {}, 'Nothing of this event is applied; the entry and the event’s receipt become skipped with your reason, which the device sees.'),
    fields: [reasonField()],
    submitLabel: 'Skip',
    danger: true,
    submit: async ({ reason }) => journaled('Skip', await api(`${entryPath(e)}/skip`, { method: 'POST', body: { reason } })),
  });
}

async function edit(e, { api, dialog }) {
  const one = await api(entryPath(e));
  dialog({
    title: `Edit and re-drive ${entity(e)}`,
    intro: h('p', {}, 'Correct the event and re-drive it in place of the parked one. It must stay the same event (eventId, deviceId, deviceSeq and entity); the original stays in the entry.'),
    fields: [{ name: 'event', label: 'Event (JSON)', type: 'textarea', rows: 14, required: true, value: JSON.stringify(one.record?.event ?? null, null, 2) }, reasonField()],
    submitLabel: 'Re-drive edited event',
    submit: async ({ event, reason }) => {
      let parsed;
      try {
        parsed = JSON.parse(event);
      } catch (error) {
        throw new ApiError(0, { title: 'The event is not JSON', detail: error.message });
      }
      return journaled('Edit', await api(`${entryPath(e)}/edit`, { method: 'POST', body: { reason, event: parsed } }));
    },
  });
}

async function details(e, { api, dialog }) {
  const one = await api(entryPath(e));
  dialog({
    title: `Parked entry ${e.consumer} @ ${e.seq}`,
    intro: [
      h('p', {}, `${e.code ?? 'parked'}: ${e.reason}`),
      one.receipt ? h('p', {}, 'Receipt: ', badge(one.receipt.status, 'info'), one.receipt.reason ? ` ${one.receipt.reason}` : '') : null,
      h('h3', {}, 'Journal record'),
      h('pre', { class: 'json' }, JSON.stringify(one.record ?? one.payload, null, 2)),
      h('h3', {}, 'Audit trail'),
      table(
        [
          { label: 'At', cell: (a) => time(a.at) },
          { label: 'Who', cell: (a) => a.actor },
          { label: 'Action', cell: (a) => a.action },
          { label: 'Reason', cell: (a) => a.reason ?? '—' },
          { label: 'Outcome', cell: (a) => (a.outcome === 'ok' ? badge('ok', 'ok') : badge(a.outcome, 'bad')) },
        ],
        one.audit,
        { empty: 'No operator action yet.' },
      ),
    ],
    submitLabel: 'Close',
    submit: async () => null,
  });
}

export default {
  title: 'Parked & retries',
  setup({ tools, route, setParams, entered }) {
    if (entered) selection.clear();
    fill(
      tools,
      h('label', { for: 'parked-status' }, 'Status '),
      h(
        'select',
        { id: 'parked-status', on: { change: (ev) => setParams({ status: ev.target.value === 'parked' ? '' : ev.target.value, after: '' }) } },
        STATUSES.map((s) => h('option', { value: s, selected: (route.params.status ?? 'parked') === s }, s)),
      ),
      h(
        'select',
        { 'aria-label': 'Code', on: { change: (ev) => setParams({ code: ev.target.value, after: '' }) } },
        CODES.map((c) => h('option', { value: c, selected: (route.params.code ?? '') === c }, c || 'any code')),
      ),
      h('input', {
        type: 'search',
        placeholder: 'workspace',
        value: route.params.workspace ?? '',
        'aria-label': 'Workspace',
        on: { change: (ev) => setParams({ workspace: ev.target.value.trim(), after: '' }) },
      }),
      pageSize({ route, setParams }),
    );
  },
  async load({ api, route }) {
    const { status, code, workspace, after, limit = 50 } = route.params;
    const [parked, streams] = await Promise.all([
      api(`/v1/parked${query({ status, code, workspace, after, limit })}`),
      // Retries in flight come from the streams view; the parked list stands without it.
      api('/v1/streams').catch((error) => ({ error })),
    ]);
    return { parked, streams };
  },
  render({ parked, streams }, ctx) {
    const act = (fn, e) => () =>
      Promise.resolve()
        .then(() => fn(e, ctx))
        .catch((error) => ctx.flash(`${error.problem?.title ?? 'Error'}: ${error.message}`, 'bad'));
    const retrying = streams.error ? null : streams.streams.flatMap((s) => s.consumers.filter((c) => c.redelivered > 0).map((c) => ({ stream: s.name, ...c })));
    fill(
      ctx.body,
      section(
        `Parked entries (${ctx.route.params.status ?? 'parked'})`,
        bulkBar(ctx),
        table(
          [
            selection.column(keyOf, (e) => e.status === 'parked' && Boolean(e.event), parked.parked, 'Pick'),
            { label: 'Seq', cell: (e) => num(e.seq), class: 'num' },
            { label: 'Consumer', cell: (e) => h('span', { class: 'mono' }, e.consumer) },
            { label: 'Workspace', cell: (e) => e.workspace ?? '—' },
            { label: 'Entity', cell: entity },
            { label: 'Device', cell: (e) => (e.event ? `${e.event.deviceId} #${e.event.deviceSeq}` : '—') },
            { label: 'Code', cell: (e) => badge(e.code ?? 'parked', 'bad') },
            { label: 'Reason', cell: (e) => h('span', { class: 'reason' }, e.reason) },
            { label: 'Attempts', cell: (e) => num(e.attempts), class: 'num' },
            { label: 'Parked at', cell: (e) => time(e.parkedAt) },
            {
              label: 'Status',
              cell: (e) =>
                e.status === 'parked'
                  ? badge('parked', 'bad')
                  : [
                      badge(e.status, e.status === 'redriven' ? 'ok' : 'muted'),
                      e.resolvedSeq ? h('div', { class: 'muted' }, `at seq ${e.resolvedSeq}`) : null,
                      e.note ? h('div', { class: 'muted' }, e.note) : null,
                    ],
            },
            {
              label: 'Actions',
              cell: (e) =>
                h(
                  'div',
                  { class: 'actions' },
                  e.status === 'parked'
                    ? [
                        h('button', { type: 'button', class: 'primary', disabled: !e.event, on: { click: act(redrive, e) } }, 'Re-drive'),
                        h('button', { type: 'button', disabled: !e.event, on: { click: act(edit, e) } }, 'Edit'),
                        h('button', { type: 'button', class: 'danger', on: { click: act(skip, e) } }, 'Skip'),
                      ]
                    : null,
                  h('button', { type: 'button', class: 'link', on: { click: act(details, e) } }, 'Details'),
                ),
            },
          ],
          parked.parked,
          {
            key: (e) => `${e.consumer}/${e.seq}`,
            rowClass: (e) => (e.status === 'parked' ? 'bad' : ''),
            empty: ctx.route.params.status && ctx.route.params.status !== 'parked' ? 'No entries with this status.' : 'Nothing is parked.',
          },
        ),
        pager(ctx, { hasMore: parked.hasMore, next: parked.next, shown: `${num(parked.parked.length)} shown, oldest first${parked.hasMore ? '; more on the next page' : ''}` }),
      ),
      section(
        'Retries in flight',
        h('p', { class: 'muted' }, 'Consumers redelivering messages after a failed attempt or an acknowledgement timeout; a message that keeps failing is parked above.'),
        retrying === null
          ? h('p', { class: 'muted' }, `Unavailable: ${streams.error.message}`)
          : table(
              [
                { label: 'Stream', cell: (c) => c.stream },
                { label: 'Consumer', cell: (c) => h('span', { class: 'mono' }, c.name) },
                { label: 'Redelivered', cell: (c) => num(c.redelivered), class: 'num' },
                { label: 'Ack pending', cell: (c) => num(c.ackPending), class: 'num' },
                { label: 'Oldest pending', cell: (c) => age(c.oldestPendingSeconds) },
              ],
              retrying,
              { key: (c) => `${c.stream}/${c.name}`, empty: 'No consumer is redelivering messages.' },
            ),
      ),
    );
  },
};
