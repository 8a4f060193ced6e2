// The audit log: every state-changing call (who, what, to what, why, how it ended), newest first, filtered
// by action (or an action prefix such as parked.*), actor, outcome and workspace, paged.
import { query } from '../api.js';
import { badge, fill, h, json, num, pageSize, pager, section, table, time } from '../dom.js';

const ACTIONS = ['', 'conflict.*', 'conflict.resolve', 'parked.*', 'parked.redrive', 'parked.edit', 'parked.skip', 'replay.*', 'redelivery.rewind', 'device.*', 'operator-token.*'];

/** A target as its members, `consumer merge-p00 · seq 17`. */
const target = (t) => Object.entries(t ?? {}).map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, `${k} `), typeof v === 'string' ? v : json(v)));

export default {
  title: 'Audit log',
  setup({ tools, route, setParams }) {
    const filter = (name, label) =>
      h('input', { type: 'search', placeholder: label, value: route.params[name] ?? '', 'aria-label': label, on: { change: (ev) => setParams({ [name]: ev.target.value.trim(), before: '' }) } });
    const action = route.params.action ?? '';
    fill(
      tools,
      h(
        'select',
        { 'aria-label': 'Action', on: { change: (ev) => setParams({ action: ev.target.value, before: '' }) } },
        (ACTIONS.includes(action) ? ACTIONS : [...ACTIONS, action]).map((a) => h('option', { value: a, selected: a === action }, a || 'every action')),
      ),
      filter('actor', 'Actor'),
      filter('outcome', 'Outcome'),
      filter('workspace', 'Workspace'),
      pageSize({ route, setParams }),
    );
  },
  load: ({ api, route }) => {
    const { action, actor, outcome, workspace, before, limit = 50 } = route.params;
    return api(`/v1/audit${query({ action, actor, outcome, workspace, before, limit })}`);
  },
  render(page, ctx) {
    fill(
      ctx.body,
      section(
        'Entries, newest first',
        table(
          [
            { label: 'At', cell: (a) => time(a.at) },
            { label: 'Actor', cell: (a) => [h('strong', {}, a.actor), h('div', { class: 'muted' }, a.actorKind)] },
            { label: 'Action', cell: (a) => h('code', { class: 'action' }, a.action) },
            { label: 'Target', cell: (a) => target(a.target) },
            { label: 'Reason', cell: (a) => h('span', { class: 'reason' }, a.reason ?? '—') },
            { label: 'Outcome', cell: (a) => (a.outcome === 'ok' ? badge('ok', 'ok') : badge(a.outcome, 'bad')) },
            {
              label: 'Detail',
              cell: (a) => (a.detail === null || a.detail === undefined ? '—' : h('code', { class: 'detail', title: JSON.stringify(a.detail, null, 2) }, json(a.detail).slice(0, 160))),
            },
          ],
          page.entries,
          { key: (a) => a.id, rowClass: (a) => (a.outcome === 'ok' ? '' : 'bad'), empty: ctx.route.params.before ? 'No older entries.' : 'No audit entries match.' },
        ),
        pager(ctx, { hasMore: page.hasMore, next: page.next, param: 'before', shown: `${num(page.entries.length)} shown${page.hasMore ? '; older ones on the next page' : ''}` }),
      ),
    );
  },
};
