// Streams: every JetStream stream and consumer with its lag, and each merge partition's checkpoint.
import { age, badge, bytes, fill, h, num, section, table, time } from '../dom.js';

const lag = (l) => (l.messages > 0 ? badge(`${num(l.messages)} · ${age(l.seconds)}`, 'warn') : badge('0', 'ok'));

export default {
  title: 'Streams',
  load: ({ api }) => api('/v1/streams'),
  render(o, { body }) {
    const p = o.projection;
    fill(
      body,
      section(
        `Projection (${p.consumerPrefix}-*)`,
        h('p', { class: 'muted' }, `Total behind: ${num(p.total.messages)} messages, oldest ${age(p.total.seconds)}.`),
        table(
          [
            { label: 'Partition', cell: (x) => x.partition },
            { label: 'Consumer', cell: (x) => h('span', { class: 'mono' }, x.consumer) },
            { label: 'Checkpoint seq', cell: (x) => num(x.checkpointSeq), class: 'num' },
            { label: 'Checkpoint at', cell: (x) => time(x.checkpointAt) },
            { label: 'Behind', cell: (x) => lag(x.lag) },
            { label: 'Oldest behind', cell: (x) => time(x.lag.oldestAt) },
            { label: 'Exact', cell: (x) => (x.exact ? 'yes' : badge('upper bound', 'info', 'a batch is committed and its acknowledgement is on its way')) },
          ],
          p.partitions,
          { key: (x) => x.consumer, rowClass: (x) => (x.lag.messages > 0 ? 'warn' : '') },
        ),
      ),
      o.streams.map((s) =>
        section(
          s.name,
          h('p', { class: 'muted' }, `${num(s.messages)} messages · ${bytes(s.bytes)} · seq ${num(s.firstSeq)}–${num(s.lastSeq)} · last `, time(s.lastAt)),
          table(
            [
              { label: 'Consumer', cell: (c) => h('span', { class: 'mono' }, c.name) },
              { label: 'Filter', cell: (c) => h('span', { class: 'mono' }, c.filter ?? '—') },
              { label: 'Pending', cell: (c) => num(c.pending), class: 'num' },
              { label: 'Ack pending', cell: (c) => num(c.ackPending), class: 'num' },
              { label: 'Redelivered', cell: (c) => (c.redelivered ? badge(num(c.redelivered), 'warn') : '0'), class: 'num' },
              { label: 'Waiting pulls', cell: (c) => num(c.waiting), class: 'num' },
              { label: 'Ack floor', cell: (c) => num(c.ackFloor), class: 'num' },
              { label: 'Lag', cell: (c) => lag(c.lag) },
              { label: 'Oldest pending', cell: (c) => age(c.oldestPendingSeconds) },
            ],
            s.consumers,
            { key: (c) => `${s.name}/${c.name}`, rowClass: (c) => (c.lag.messages > 0 ? 'warn' : ''), empty: 'No consumers.' },
          ),
        ),
      ),
    );
  },
};
