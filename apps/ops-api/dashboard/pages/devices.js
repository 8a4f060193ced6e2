// Devices and sites: per site how many devices fall behind, then every device grouped under its site,
// those falling behind first and highlighted with the reason; paged, filtered by workspace and site.
import { query } from '../api.js';
import { age, badge, fill, h, num, pageSize, pager, section, table, time } from '../dom.js';

const SORTS = [
  ['behind', 'falling behind first'],
  ['last-seen', 'longest silent first'],
  ['missing', 'most missing first'],
  ['device', 'by device id'],
];

const siteKey = (workspace, site) => `${workspace}/${site ?? ''}`;
const siteName = (site) => site ?? '(no site)';

function reasons(d) {
  if (!d.fallingBehind) return badge('keeping up', 'ok');
  return d.reasons.map((r) => h('div', {}, badge(r.code, 'bad'), ' ', r.detail));
}

const gaps = (d) => (d.missing ? `${num(d.missing)} missing (${d.gaps.map(([a, b]) => (a === b ? a : `${a}–${b}`)).join(', ')})` : '—');

/** The writes a device's access rules refused: how many, and the last refusal with the rule that refused it. */
function refusals(d) {
  const r = d.writesRefused;
  if (!r) return h('span', { class: 'muted' }, '—');
  const rule = r.last.role === null ? 'the access rules' : `role ${r.last.role} (rules v${r.last.accessRulesVersion})`;
  return [
    badge(num(r.events), 'warn'),
    h(
      'div',
      { class: 'muted' },
      'last ',
      time(r.lastAt),
      ` by ${rule}: `,
      r.last.denials.map((x) => h('code', { title: x.detail }, `${x.pointer} ${x.code}`)),
    ),
  ];
}

export default {
  title: 'Devices & sites',
  setup({ tools, route, setParams }) {
    fill(
      tools,
      h(
        'label',
        { class: 'choice' },
        h('input', {
          type: 'checkbox',
          id: 'only-behind',
          checked: route.params.fallingBehind === 'true',
          on: { change: (e) => setParams({ fallingBehind: e.target.checked ? 'true' : '', after: '' }) },
        }),
        ' only falling behind',
      ),
      h(
        'select',
        { 'aria-label': 'Sort', on: { change: (e) => setParams({ sort: e.target.value === 'behind' ? '' : e.target.value, after: '' }) } },
        SORTS.map(([v, label]) => h('option', { value: v, selected: (route.params.sort ?? 'behind') === v }, label)),
      ),
      h('input', {
        type: 'search',
        placeholder: 'workspace',
        value: route.params.workspace ?? '',
        'aria-label': 'Workspace',
        on: { change: (e) => setParams({ workspace: e.target.value.trim(), after: '' }) },
      }),
      h('input', { type: 'search', placeholder: 'site', value: route.params.site ?? '', 'aria-label': 'Site', on: { change: (e) => setParams({ site: e.target.value.trim(), after: '' }) } }),
      pageSize({ route, setParams }, 100),
    );
  },
  async load({ api, route }) {
    const { workspace, site, sort = 'behind', after, limit = 100, fallingBehind } = route.params;
    const [sites, devices] = await Promise.all([api(`/v1/sites${query({ workspace })}`), api(`/v1/devices${query({ workspace, site, sort, limit, after, fallingBehind })}`)]);
    return { sites, devices };
  },
  render({ sites, devices }, ctx) {
    const { body } = ctx;
    const bySite = new Map();
    for (const d of devices.devices) {
      const key = siteKey(d.workspace, d.site);
      if (!bySite.has(key)) bySite.set(key, []);
      bySite.get(key).push(d);
    }
    const behind = devices.devices.filter((d) => d.fallingBehind).length;
    fill(
      body,
      h(
        'p',
        { class: 'muted' },
        `${num(devices.total)} devices, `,
        behind
          ? badge(`${behind} falling behind${devices.devices.length < devices.total ? ' on this page' : ''}`, 'bad')
          : badge(`none falling behind${devices.devices.length < devices.total ? ' on this page' : ''}`, 'ok'),
        ` · stale after ${age(devices.staleAfterSeconds)} of silence while their site is active, or more than ${num(devices.behindThreshold)} sequences not applied.`,
      ),
      section(
        'Sites',
        table(
          [
            { label: 'Workspace', cell: (s) => s.workspace },
            {
              label: 'Site',
              cell: (s) =>
                h(
                  'button',
                  { type: 'button', class: 'link', on: { click: () => document.getElementById(`site-${siteKey(s.workspace, s.site)}`)?.scrollIntoView({ behavior: 'smooth' }) } },
                  siteName(s.site),
                ),
            },
            { label: 'Devices', cell: (s) => num(s.devices), class: 'num' },
            { label: 'Falling behind', cell: (s) => (s.fallingBehind ? badge(`${s.fallingBehind}: ${s.fallingBehindDevices.join(', ')}`, 'bad') : badge('0', 'ok')) },
            { label: 'Behind by', cell: (s) => num(s.behindBy), class: 'num' },
            { label: 'Missing', cell: (s) => num(s.missing), class: 'num' },
            { label: 'Last seen', cell: (s) => time(s.lastSeenAt) },
            { label: 'Longest silent since', cell: (s) => time(s.oldestLastSeenAt) },
          ],
          sites.sites,
          { key: (s) => siteKey(s.workspace, s.site), rowClass: (s) => (s.fallingBehind ? 'bad' : ''), empty: 'No devices yet.' },
        ),
      ),
      pager(ctx, {
        hasMore: devices.next !== null,
        next: devices.next,
        shown: `devices ${num(Number(ctx.route.params.after ?? 0) + Math.min(1, devices.devices.length))}–${num(Number(ctx.route.params.after ?? 0) + devices.devices.length)} of ${num(devices.total)}, grouped by site below`,
      }),
      sites.sites
        .filter((s) => bySite.has(siteKey(s.workspace, s.site)))
        .map((s) =>
          h(
            'section',
            { class: 'card', id: `site-${siteKey(s.workspace, s.site)}`, data: { site: siteKey(s.workspace, s.site) } },
            h('h2', {}, `${siteName(s.site)} `, h('span', { class: 'muted' }, `· ${s.workspace}`)),
            table(
              [
                { label: 'Device', cell: (d) => h('strong', {}, d.deviceId), class: 'device' },
                { label: 'Status', cell: (d) => (d.status === 'active' ? badge('active', 'ok') : badge(d.status ?? 'unregistered', 'muted')) },
                { label: 'Last pushed', cell: (d) => num(d.lastPushedSeq), class: 'num' },
                { label: 'Applied up to', cell: (d) => num(d.contiguousSeq), class: 'num' },
                { label: 'Behind by', cell: (d) => num(d.behindBy), class: 'num' },
                { label: 'Gaps', cell: gaps },
                { label: 'Last seen', cell: (d) => [time(d.lastSeenAt), d.silentSeconds !== null ? h('div', { class: 'muted' }, `${age(d.silentSeconds)} ago`) : null] },
                { label: 'Falling behind', cell: reasons },
                { label: 'Read to', cell: (d) => (d.read ? h('code', { title: `delivered ${d.read.at}` }, d.read.cursor) : h('span', { class: 'muted' }, '—')) },
                { label: 'Writes refused', cell: refusals },
              ],
              bySite.get(siteKey(s.workspace, s.site)),
              { key: (d) => `${d.workspace}/${d.deviceId}`, rowClass: (d) => (d.fallingBehind ? 'bad behind' : '') },
            ),
          ),
        ),
    );
  },
};
