// Assets: uploads in progress by workspace and file class, stalled and expired uploads, and records whose
// referenced asset is not verified yet.
import { query } from '../api.js';
import { age, badge, bytes, fill, h, num, section, short, table, tile, time } from '../dom.js';

function uploadsTable(uploads, empty) {
  return table(
    [
      { label: 'Upload', cell: (u) => short(u.id, 12) },
      { label: 'Workspace', cell: (u) => u.workspace },
      { label: 'Class', cell: (u) => u.fileClass },
      { label: 'Content type', cell: (u) => u.contentType },
      { label: 'Received', cell: (u) => `${bytes(u.offset)} of ${u.size === null ? 'unknown' : bytes(u.size)}`, class: 'num' },
      { label: 'Pending', cell: (u) => bytes(u.bytesPending), class: 'num' },
      { label: 'Silent for', cell: (u) => age(u.silentSeconds) },
      { label: 'Expires', cell: (u) => time(u.expiresAt) },
    ],
    uploads,
    { key: (u) => u.id, empty },
  );
}

export default {
  title: 'Assets',
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
    const [uploads, waiting] = await Promise.all([api(`/v1/assets${query({ workspace })}`), api(`/v1/assets/waiting${query({ workspace, limit: 200 })}`)]);
    return { uploads, waiting };
  },
  render({ uploads, waiting }, { body }) {
    const t = uploads.inProgress;
    fill(
      body,
      h(
        'div',
        { class: 'tiles' },
        tile('Uploads in progress', num(t.uploads)),
        tile('Bytes pending', bytes(t.bytesPending), { note: `${bytes(t.bytesReceived)} of ${bytes(t.bytesDeclared)} received` }),
        tile('Stalled', num(t.stalled), { kind: t.stalled ? 'warn' : 'ok', note: `no bytes for ${age(uploads.stalledAfterSeconds)}` }),
        tile('Expired', num(t.expired), { kind: t.expired ? 'bad' : 'ok', note: 'not yet aborted by the collector' }),
        tile('Records waiting', `${num(waiting.waiting.length)}${waiting.hasMore ? '+' : ''}`, { kind: waiting.waiting.length ? 'warn' : 'ok', note: 'for an asset not verified yet' }),
      ),
      section(
        'Uploads in progress by workspace and file class',
        h('p', { class: 'muted' }, `Grouped by ${uploads.grouping}.`),
        table(
          [
            { label: 'Workspace', cell: (g) => g.workspace },
            { label: 'File class', cell: (g) => h('strong', {}, g.fileClass) },
            { label: 'Content types', cell: (g) => g.contentTypes.map((c) => `${c.contentType} (${c.uploads})`).join(', ') },
            { label: 'Uploads', cell: (g) => num(g.uploads), class: 'num' },
            { label: 'Received', cell: (g) => bytes(g.bytesReceived), class: 'num' },
            { label: 'Pending', cell: (g) => bytes(g.bytesPending), class: 'num' },
            { label: 'Unknown length', cell: (g) => num(g.unknownLength), class: 'num' },
            { label: 'Stalled', cell: (g) => (g.stalled ? badge(num(g.stalled), 'warn') : '0'), class: 'num' },
            { label: 'Expired', cell: (g) => (g.expired ? badge(num(g.expired), 'bad') : '0'), class: 'num' },
            { label: 'Oldest', cell: (g) => time(g.oldestCreatedAt) },
          ],
          uploads.groups,
          { key: (g) => `${g.workspace}/${g.fileClass}`, empty: 'No uploads in progress.' },
        ),
      ),
      section(`Stalled uploads`, uploadsTable(uploads.stalled, 'None stalled.')),
      section(`Expired uploads`, uploadsTable(uploads.expired, 'None expired.')),
      section(
        'Records waiting for their asset',
        table(
          [
            { label: 'Workspace', cell: (w) => w.workspace },
            { label: 'Entity', cell: (w) => h('strong', {}, `${w.entity.type}/${w.entity.id}`) },
            { label: 'Field', cell: (w) => w.field },
            { label: 'sha256', cell: (w) => short(w.sha256, 16) },
            { label: 'Status', cell: (w) => badge(w.status, w.status === 'missing' ? 'bad' : 'warn', w.status === 'missing' ? 'no upload of these bytes is open' : 'an upload is open') },
          ],
          waiting.waiting,
          { key: (w) => `${w.workspace}/${w.entity.type}/${w.entity.id}/${w.field}/${w.sha256}`, empty: 'Every referenced asset is verified.' },
        ),
      ),
    );
  },
};
