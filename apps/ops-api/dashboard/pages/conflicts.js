// Conflicts: hotspots by workspace, entity type and field, the ledger with base / ours / theirs, and
// resolution (pick ours, theirs or a value, with a reason) journaled like a device's.
import { ApiError, query } from '../api.js';
import { age, badge, fill, h, json, num, section, table, time } from '../dom.js';

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
    intro: h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Base'),
      h('dd', {}, base(c)),
      h('dt', {}, 'Ours'),
      h('dd', {}, side(c.ours)),
      h('dt', {}, 'Theirs'),
      h('dd', {}, side(c.theirs)),
    ),
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

export default {
  title: 'Conflicts',
  setup({ tools, route, setParams }) {
    fill(
      tools,
      h('label', { for: 'conflict-status' }, 'Status '),
      h(
        'select',
        { id: 'conflict-status', on: { change: (ev) => setParams({ status: ev.target.value === 'open' ? '' : ev.target.value }) } },
        STATUSES.map((s) => h('option', { value: s, selected: (route.params.status ?? 'open') === s }, s)),
      ),
      h('input', { type: 'search', placeholder: 'workspace', value: route.params.workspace ?? '', 'aria-label': 'Workspace', on: { change: (ev) => setParams({ workspace: ev.target.value.trim() }) } }),
    );
  },
  async load({ api, route }) {
    const { workspace, status } = route.params;
    const [list, hot] = await Promise.all([api(`/v1/conflicts${query({ workspace, status, limit: 500 })}`), api(`/v1/conflicts/hotspots${query({ workspace })}`)]);
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
        table(
          [
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
          { key: (c) => c.id, rowClass: (c) => (c.status === 'open' ? 'warn' : ''), empty: 'No conflicts with this status.' },
        ),
        list.hasMore ? h('p', { class: 'muted' }, 'More conflicts than shown: the oldest are listed first.') : null,
      ),
    );
  },
};
