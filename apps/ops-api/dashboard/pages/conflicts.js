// Conflicts: hotspots by workspace, entity type and field, the ledger with base / ours / theirs paged and
// filtered, resolution (pick ours, theirs or a value, with a reason) journaled like a device's, and many
// picked conflicts resolved at once by one rule.
import { ApiError, query } from '../api.js';
import { Selection, age, badge, fill, h, json, num, pageSize, pager, section, table, time } from '../dom.js';

/** The most conflicts one bulk call resolves (ops-api's OPS_BULK_LIMITS.maxItems). */
const BULK_MAX = 100;
const selection = new Selection();
const keyOf = (c) => `${c.workspace}/${c.id}`;

const STATUSES = ['open', 'resolved', 'all'];
const entity = (c) => `${c.entity.type}/${c.entity.id}`;

function base(c) {
  if (!c.base) return '—';
  if (c.base.kind === 'value') return h('code', {}, json(c.base.value));
  return h('span', { class: 'muted' }, c.base.kind);
}

function side(s) {
  return [h('code', { class: 'value' }, 'value' in s ? json(s.value) : s.fields ? json(s.fields) : '—'), h('div', { class: 'muted' }, `${s.deviceId} · hlc ${s.hlc.wall}.${s.hlc.counter}`)];
}

function resolve(c, { api, dialog }) {
  dialog({
    title: `Resolve ${c.field} of ${entity(c)}`,
    intro: h('dl', { class: 'facts' }, h('dt', {}, 'Base'), h('dd', {}, base(c)), h('dt', {}, 'Ours'), h('dd', {}, side(c.ours)), h('dt', {}, 'Theirs'), h('dd', {}, side(c.theirs))),
    fields: [
      {
        name: 'pick',
        label: 'Keep',
        type: 'radio',
        value: 'ours',
        options: [
          { value: 'ours', label: `ours: ${'value' in c.ours ? json(c.ours.value) : 'as ours'} (${c.ours.deviceId})` },
          { value: 'theirs', label: `theirs: ${'value' in c.theirs ? json(c.theirs.value) : 'as theirs'} (${c.theirs.deviceId})` },
          { value: 'value', label: 'a value of my own (below)' },
        ],
      },
      { name: 'value', label: 'Value (JSON, only for “a value of my own”)', type: 'textarea', rows: 2, hint: 'e.g. "cat" (with quotes for a string), 3, null' },
      { name: 'reason', label: 'Reason (audited)', type: 'textarea', rows: 2, required: true },
    ],
    submitLabel: 'Resolve',
    submit: async ({ pick, value, reason }) => {
      const body = { pick, reason };
      if (pick === 'value') {
        try {
          body.value = JSON.parse(value);
        } catch (error) {
          throw new ApiError(0, { title: 'The value is not JSON', detail: `${error.message} (a string needs quotes: "cat")` });
        }
      }
      const r = await api(`/v1/conflicts/${encodeURIComponent(c.id)}/resolve`, { method: 'POST', body });
      return `Resolution of ${c.field} on ${entity(c)} journaled at sequence ${r.seq}${r.status === 'duplicate' ? ' (a repeat: deduplicated)' : ''}; it shows resolved once merge-service applied it.`;
    },
  });
}

function resolveMany(ctx) {
  const picked = selection.rows();
  ctx.dialog({
    title: `Resolve ${picked.length} conflicts by one rule`,
    intro: [
      h('p', {}, 'Each conflict gets its own resolve event, journaled like a device’s; each is audited with your reason. One refused (resolved meanwhile) does not stop the rest.'),
      h(
        'ul',
        { class: 'picked' },
        picked.slice(0, 12).map((c) => h('li', {}, `${c.workspace} · ${entity(c)} · ${c.field}`)),
        picked.length > 12 ? h('li', { class: 'muted' }, `and ${picked.length - 12} more`) : null,
      ),
    ],
    fields: [
      {
        name: 'pick',
        label: 'Keep, in every one of them',
        type: 'radio',
        value: 'theirs',
        options: [
          { value: 'ours', label: 'ours (the value merged first)' },
          { value: 'theirs', label: 'theirs (the concurrent edit)' },
        ],
      },
      { name: 'reason', label: 'Reason (audited)', type: 'textarea', rows: 2, required: true },
    ],
    submitLabel: `Resolve ${picked.length}`,
    submit: async ({ pick, reason }) => {
      const r = await ctx.api('/v1/conflicts/resolve', { method: 'POST', body: { conflicts: picked.map((c) => ({ workspace: c.workspace, conflictId: c.id })), pick, reason } });
      selection.clear();
      const refused = r.results.filter((x) => x.status === 'refused');
      return `${r.journaled} resolutions (keep ${pick}) journaled${refused.length ? `; ${refused.length} refused: ${refused.map((x) => `${x.conflictId} (${x.problem.title})`).join(', ')}` : ''}; they show resolved once merge-service applied them.`;
    },
  });
}

export default {
  title: 'Conflicts',
  setup({ tools, route, setParams, entered }) {
    if (entered) selection.clear();
    const filter = (name, label) =>
      h('input', { type: 'search', placeholder: label, value: route.params[name] ?? '', 'aria-label': label, on: { change: (ev) => setParams({ [name]: ev.target.value.trim(), after: '' }) } });
    fill(
      tools,
      h('label', { for: 'conflict-status' }, 'Status '),
      h(
        'select',
        { id: 'conflict-status', on: { change: (ev) => setParams({ status: ev.target.value === 'open' ? '' : ev.target.value, after: '' }) } },
        STATUSES.map((s) => h('option', { value: s, selected: (route.params.status ?? 'open') === s }, s)),
      ),
      filter('workspace', 'Workspace'),
      filter('entityType', 'Entity type'),
      filter('field', 'Field'),
      pageSize({ route, setParams }),
    );
  },
  async load({ api, route }) {
    const { workspace, status, entityType, field, after, limit = 50 } = route.params;
    const [list, hot] = await Promise.all([api(`/v1/conflicts${query({ workspace, status, entityType, field, after, limit })}`), api(`/v1/conflicts/hotspots${query({ workspace, entityType })}`)]);
    return { list, hot };
  },
  render({ list, hot }, ctx) {
    fill(
      ctx.body,
      h(
        'div',
        { class: 'columns' },
        section(
          `Hotspots (${num(hot.open)} open)`,
          table(
            [
              { label: 'Workspace', cell: (x) => x.workspace },
              { label: 'Entity type', cell: (x) => x.entityType },
              { label: 'Field', cell: (x) => h('strong', {}, x.field) },
              { label: 'Open', cell: (x) => badge(num(x.open), 'warn'), class: 'num' },
              { label: 'Oldest open', cell: (x) => age(x.oldestOpenSeconds) },
            ],
            hot.hotspots,
            { key: (x) => `${x.workspace}/${x.entityType}/${x.field}`, empty: 'No open conflicts.' },
          ),
        ),
        section(
          'By workspace',
          table(
            [
              { label: 'Workspace', cell: (w) => w.workspace },
              { label: 'Open', cell: (w) => num(w.open), class: 'num' },
              { label: 'Oldest opened', cell: (w) => time(w.oldestOpenedAt) },
              { label: 'Open for', cell: (w) => age(w.oldestOpenSeconds) },
            ],
            hot.workspaces,
            { empty: 'No open conflicts.' },
          ),
        ),
      ),
      section(
        `Conflicts (${ctx.route.params.status ?? 'open'})`,
        bulkBar(ctx),
        table(
          [
            selection.column(keyOf, (c) => c.status === 'open', list.conflicts, 'Pick'),
            { label: 'Workspace', cell: (c) => c.workspace },
            { label: 'Entity', cell: (c) => h('strong', {}, entity(c)) },
            { label: 'Field', cell: (c) => c.field },
            { label: 'Rule', cell: (c) => h('span', { class: 'muted' }, c.rule) },
            { label: 'Base', cell: base },
            { label: 'Ours', cell: (c) => side(c.ours) },
            { label: 'Theirs', cell: (c) => side(c.theirs) },
            { label: 'Opened', cell: (c) => [time(c.opened.acceptedAt), c.openSeconds !== null ? h('div', { class: 'muted' }, `open ${age(c.openSeconds)}`) : null] },
            { label: 'Status', cell: (c) => (c.status === 'open' ? badge('open', 'warn') : [badge(c.status, 'ok'), c.resolved ? h('div', { class: 'muted' }, `at seq ${c.resolved.seq}`) : null]) },
            { label: '', cell: (c) => (c.status === 'open' ? h('button', { type: 'button', class: 'primary', on: { click: () => resolve(c, ctx) } }, 'Resolve') : null) },
          ],
          list.conflicts,
          { key: (c) => c.id, rowClass: (c) => (c.status === 'open' ? 'warn' : ''), empty: ctx.route.params.after ? 'No more conflicts.' : 'No conflicts with this status.' },
        ),
        pager(ctx, { hasMore: list.hasMore, next: list.next, shown: `${num(list.conflicts.length)} shown, oldest first${list.hasMore ? '; more on the next page' : ''}` }),
      ),
    );
  },
};

/** The bulk action's bar: how many are picked (across pages) and the button that resolves them. */
function bulkBar(ctx) {
  const button = h('button', { type: 'button', class: 'primary', id: 'resolve-picked', on: { click: () => resolveMany(ctx) } });
  const clear = h('button', { type: 'button', class: 'link', on: { click: () => (selection.clear(), ctx.refresh()) } }, 'Clear');
  const note = h('span', { class: 'muted' });
  const update = () => {
    button.textContent = `Resolve ${selection.size} picked…`;
    button.disabled = selection.size === 0 || selection.size > BULK_MAX;
    clear.hidden = selection.size === 0;
    note.textContent = selection.size > BULK_MAX ? `at most ${BULK_MAX} at once` : 'pick open conflicts (on any page) to resolve them by one rule';
  };
  selection.onChange = update;
  update();
  return h('div', { class: 'actions bar bulk' }, button, clear, note);
}
