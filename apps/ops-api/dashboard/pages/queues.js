// Queues & backlog: job queues (queued, running, retrying, failed, retries, repairs, the oldest queued job and who
// falls behind) and uploads in progress per site and per file class.
import { query } from '../api.js';
import { age, badge, bytes, fill, h, num, section, table, tile } from '../dom.js';

const backlogTable = (groups, key, label) =>
  table(
    [
      { label: 'Workspace', cell: (g) => g.workspace },
      { label, cell: (g) => h('strong', {}, g[key] ?? '(none)') },
      { label: 'Uploads', cell: (g) => num(g.uploads), class: 'num' },
      { label: 'Pending', cell: (g) => bytes(g.bytesPending), class: 'num' },
      { label: 'Stalled', cell: (g) => (g.stalled ? badge(num(g.stalled), 'warn') : '0'), class: 'num' },
      { label: 'Expired', cell: (g) => (g.expired ? badge(num(g.expired), 'bad') : '0'), class: 'num' },
      { label: 'Oldest', cell: (g) => age(g.oldestSeconds) },
    ],
    groups,
    { key: (g) => `${g.workspace}/${g[key] ?? ''}`, empty: 'No uploads in progress.' },
  );

export default {
  title: 'Queues & backlog',
  setup({ tools, route, setParams }) {
    fill(
      tools,
      h('input', {
        type: 'search',
        placeholder: 'workspace',
        value: route.params.workspace ?? '',
        'aria-label': 'Workspace',
        on: { change: (ev) => setParams({ workspace: ev.target.value.trim() }) },
      }),
    );
  },
  async load({ api, route }) {
    const { workspace } = route.params;
    const [queues, bySite, byClass] = await Promise.all([
      api(`/v1/queues${query({ workspace })}`),
      api(`/v1/assets/backlog${query({ workspace, by: 'site' })}`),
      api(`/v1/assets/backlog${query({ workspace, by: 'class' })}`),
    ]);
    return { queues, bySite, byClass };
  },
  render({ queues, bySite, byClass }, { body }) {
    const t = queues.total;
    fill(
      body,
      h(
        'div',
        { class: 'tiles' },
        tile('Queues falling behind', num(t.fallingBehind), { kind: t.fallingBehind ? 'bad' : 'ok', note: `of ${num(t.queues)}` }),
        tile('Jobs queued', num(t.queued), { note: t.oldestQueuedSeconds === null ? 'none waiting' : `oldest waited ${age(t.oldestQueuedSeconds)}` }),
        tile('Running', num(t.running), { note: `${num(t.retrying)} retrying` }),
        tile('Failed', num(t.failed), { kind: t.failed ? 'warn' : 'ok', note: `${num(t.retries)} retries` }),
        tile('Open repairs', num(t.repairsOpen), { kind: t.repairsOpen ? 'warn' : 'ok', note: 'impossible job transitions' }),
        tile('Upload bytes pending', bytes(bySite.inProgress.bytesPending), { note: `${num(bySite.inProgress.uploads)} upload${bySite.inProgress.uploads === 1 ? '' : 's'} in progress` }),
      ),
      section(
        'Job queues',
        h('p', { class: 'muted' }, `Falling behind: ${queues.rule}.`),
        table(
          [
            { label: 'Workspace', cell: (q) => q.workspace },
            { label: 'Queue', cell: (q) => h('strong', {}, q.queue ?? '(none)') },
            { label: 'Queued', cell: (q) => num(q.queued), class: 'num' },
            { label: 'Running', cell: (q) => num(q.running), class: 'num' },
            { label: 'Retrying', cell: (q) => num(q.retrying), class: 'num' },
            { label: 'Failed', cell: (q) => (q.failed ? badge(num(q.failed), 'warn') : '0'), class: 'num' },
            { label: 'Retries', cell: (q) => num(q.retries), class: 'num' },
            { label: 'Repairs', cell: (q) => (q.repairsOpen ? badge(num(q.repairsOpen), 'warn') : '0'), class: 'num' },
            { label: 'Oldest queued', cell: (q) => (q.oldestQueuedSeconds === null ? '—' : age(q.oldestQueuedSeconds)) },
            { label: 'State', cell: (q) => (q.fallingBehind ? badge('falling behind', 'bad', q.reasons.map((r) => r.detail).join('; ')) : badge('ok', 'ok')) },
          ],
          queues.queues,
          { key: (q) => `${q.workspace}/${q.queue ?? ''}`, empty: 'No jobs queued, running, retrying or failed.' },
        ),
      ),
      section('Uploads in progress by site', backlogTable(bySite.groups, 'site', 'Site')),
      section('Uploads in progress by file class', backlogTable(byClass.groups, 'fileClass', 'File class')),
    );
  },
};
