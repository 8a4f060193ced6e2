// Read scopes of a workspace (partial sync): what each scope reads, which roles may read it, and who
// subscribes to it by value, and how far behind in it each subscriber is (`GET /v1/scopes/lag`: the changes of the
// scope's value after the cursor the gateway last delivered to the device). Members the API adds later are shown as
// they come.
import { query } from '../api.js';
import { badge, facts, fill, h, json, num, section, table, time } from '../dom.js';

/** Members of a scope drawn on their own; any other member is listed as a fact. */
const SCOPE_SHOWN = new Set(['scope', 'types', 'partitioned', 'values', 'readBy', 'subscribers', 'subscriptions']);
/** Columns of a subscription drawn on their own; any other member gets a column of its own. */
const SUBSCRIPTION_SHOWN = new Set(['value', 'subscribers', 'devices']);

/** A value of a member not known to this page, readably. */
function anyValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return num(v, 3);
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.join(', ') || '—';
  return h('code', {}, json(v));
}

/** The label of a member: `lagSeconds` → `lag seconds`. */
const words = (key) => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

function subscriptions(rows, empty) {
  const extra = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => !SUBSCRIPTION_SHOWN.has(k) && k !== 'scope')))];
  const devices = (r) =>
    Array.isArray(r.devices)
      ? [r.devices.join(', ') || '—', r.subscribers > r.devices.length ? h('span', { class: 'muted' }, ` and ${num(r.subscribers - r.devices.length)} more`) : null]
      : anyValue(r.devices);
  return table(
    [
      ...(rows.some((r) => 'scope' in r) ? [{ label: 'Scope', cell: (r) => h('strong', {}, r.scope) }] : []),
      { label: 'Value', cell: (r) => ('value' in r ? h('code', {}, r.value) : h('span', { class: 'muted' }, 'the whole scope')) },
      { label: 'Subscribers', cell: (r) => num(r.subscribers), class: 'num' },
      { label: 'Devices', cell: devices },
      ...extra.map((k) => ({ label: words(k), cell: (r) => anyValue(r[k]) })),
    ],
    rows,
    { key: (r) => `${r.scope ?? ''}/${r.value ?? ''}`, empty },
  );
}

/** Lag within one scope: a row per subscriber of each value (the first page of values), most behind first. */
function lagTable(lag) {
  if (!lag) return null;
  const rows = lag.values.flatMap((v) => v.devices.map((d) => ({ ...d, value: v.value, head: v.head, cap: lag.cap })));
  return h(
    'div',
    { data: { lag: '' } },
    h('h3', {}, 'Lag by subscriber'),
    table(
      [
        { label: 'Value', cell: (r) => (r.value === undefined ? h('span', { class: 'muted' }, 'the whole scope') : h('code', {}, r.value)) },
        { label: 'Device', cell: (r) => r.deviceId },
        { label: 'Behind', cell: (r) => (r.behind > 0 ? badge(`${num(r.behind)}${r.behind >= r.cap ? '+' : ''}`, 'warn') : badge('current', 'ok')), class: 'num' },
        { label: 'Read to', cell: (r) => (r.cursor === null ? h('span', { class: 'muted' }, 'never read') : h('code', {}, r.cursor)) },
        { label: 'Newest in scope', cell: (r) => (r.head === null ? '—' : h('code', {}, r.head)) },
        { label: 'Read at', cell: (r) => (r.readAt ? time(r.readAt) : '—') },
      ],
      rows,
      { key: (r) => `${r.value ?? ''}/${r.deviceId}`, empty: 'No subscriber to measure.' },
    ),
    lag.next !== undefined
      ? h('p', { class: 'muted' }, `The first ${num(lag.values.length)} values; the CLI pages the rest (tidemark scopes ${lag.workspace} ${lag.scope} --after ${lag.next}).`)
      : null,
  );
}

export default {
  title: 'Scopes',
  setup({ tools, route, setParams }) {
    fill(
      tools,
      h('input', {
        type: 'search',
        placeholder: 'workspace',
        value: route.params.workspace ?? '',
        'aria-label': 'Workspace',
        required: true,
        on: { change: (ev) => setParams({ workspace: ev.target.value.trim() }) },
      }),
    );
  },
  async load({ api, route }) {
    const workspace = route.params.workspace;
    if (!workspace) return null;
    const view = await api(`/v1/scopes${query({ workspace })}`);
    const lags = await Promise.all(view.scopes.map((s) => api(`/v1/scopes/lag${query({ workspace, scope: s.scope })}`)));
    return { ...view, lag: Object.fromEntries(lags.map((l) => [l.scope, l])) };
  },
  render(view, { body }) {
    if (!view) return fill(body, h('p', { class: 'empty' }, 'Name a workspace (above) to see its read scopes and who subscribes to them.'));
    fill(
      body,
      h(
        'p',
        { class: 'muted' },
        view.rulesVersion === null
          ? 'No access rules in force: every device of this workspace reads everything.'
          : `Access rules version ${view.rulesVersion}: ${num(view.scopes.length)} scopes declared.`,
      ),
      view.scopes.map((s) =>
        h(
          'section',
          { class: 'card', data: { scope: s.scope } },
          h('h2', {}, s.scope, ' ', s.partitioned ? badge('partitioned', 'info') : badge('whole', 'muted')),
          facts([
            ['Types', (s.types ?? []).join(', ') || '—'],
            s.partitioned ? ['Values from', anyValue(s.values)] : null,
            ['Read by roles', s.readBy?.length ? s.readBy.join(', ') : h('span', { class: 'muted' }, 'only roles reading everything')],
            ['Subscribers', num(s.subscribers)],
            ...Object.entries(s)
              .filter(([k]) => !SCOPE_SHOWN.has(k))
              .map(([k, v]) => [words(k), anyValue(v)]),
          ]),
          subscriptions(s.subscriptions ?? [], 'No device subscribes to it.'),
          lagTable(view.lag?.[s.scope]),
        ),
      ),
      view.undeclared?.length ? section('Subscriptions to scopes no longer declared (they deliver nothing)', subscriptions(view.undeclared, '')) : null,
    );
  },
};
