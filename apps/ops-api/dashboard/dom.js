// Small DOM and formatting helpers. Text always goes in as text nodes (never as HTML), so nothing the API
// returns can inject markup.

/**
 * Creates an element. `props`: `class`, `title`, `hidden`, `data` (dataset), `on` (event handlers), any
 * other attribute by name (false/null/undefined leave it out). Children: nodes, strings, numbers, arrays.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'data') Object.assign(el.dataset, value);
    else if (key === 'on') for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    else if (key === 'value' && 'value' in el) el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const DASH = '—';

export function num(value, digits = 0) {
  if (value === null || value === undefined) return DASH;
  return Number(value).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function bytes(value) {
  if (value === null || value === undefined) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = Number(value);
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u += 1;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

/** An age in seconds as "4 s", "3 m 10 s", "2 h 5 m", "3 d 4 h". */
export function age(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const s = Math.max(0, Number(seconds));
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${Math.floor(s % 60)} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** A time (ISO string) as local date and time, the exact value in its tooltip. */
export function time(iso) {
  if (!iso) return DASH;
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return h('time', { datetime: iso, title: iso }, today ? d.toLocaleTimeString() : d.toLocaleString());
}

/** A compact, readable JSON value. */
export function json(value) {
  if (value === undefined) return DASH;
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
}

/** A coloured label: kind is ok, warn, bad, info or muted. */
export function badge(text, kind = 'muted', title) {
  return h('span', { class: `badge ${kind}`, title }, text);
}

/** A long identifier shortened to its start, the whole value in the tooltip (and for copying). */
export function short(id, length = 8) {
  if (!id) return DASH;
  return id.length <= length + 1 ? id : h('span', { class: 'mono', title: id }, `${id.slice(0, length)}…`);
}

/**
 * A table. `columns`: `{ label, cell(row) → node|string, class? }`; `options.key(row)` sets each row's
 * `data-key`; `options.rowClass(row)` its class; `options.empty` is shown when there are no rows.
 */
export function table(columns, rows, options = {}) {
  if (rows.length === 0) return h('p', { class: 'empty' }, options.empty ?? 'Nothing to show.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: options.class },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { class: c.class, title: c.title }, c.label)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            { class: options.rowClass?.(row), data: options.key ? { key: options.key(row) } : undefined },
            columns.map((c) => h('td', { class: c.class, data: typeof c.label === 'string' && c.label ? { col: c.label } : undefined }, c.cell(row))),
          ),
        ),
      ),
    ),
  );
}

/** A headline figure: a big value and what it is; kind colours it (ok, warn, bad). */
export function tile(label, value, { kind, note, href } = {}) {
  const body = [h('div', { class: 'tile-value' }, value), h('div', { class: 'tile-label' }, label), note ? h('div', { class: 'tile-note' }, note) : null];
  return href ? h('a', { class: ['tile', kind], href, data: { tile: label } }, body) : h('div', { class: ['tile', kind], data: { tile: label } }, body);
}

/** A titled block of the page. */
export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), children);
}

/** Label/value pairs as a definition list. */
export function facts(pairs) {
  return h(
    'dl',
    { class: 'facts' },
    pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
}

/** An API error, readably: its title and status, its detail, and each problem with its pointer. */
export function problemNodes(error) {
  const p = error.problem ?? { title: 'Error', detail: String(error.message ?? error) };
  const status = error.status ? ` (${error.status})` : '';
  return [
    h('strong', {}, `${p.title ?? 'Error'}${status}`),
    p.detail ? h('span', { class: 'problem-detail' }, `: ${p.detail}`) : null,
    Array.isArray(p.errors) && p.errors.length
      ? h(
          'ul',
          {},
          p.errors.map((e) => h('li', {}, h('code', {}, e.pointer ?? ''), ` ${e.detail ?? ''}`)),
        )
      : null,
  ];
}

/** Shows (or, with no error, hides) an error in a `.problem` box. */
export function showProblem(box, error) {
  if (!error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  fill(box, problemNodes(error));
  box.hidden = false;
}

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

/**
 * A sparkline of numbers (null: no value then), oldest to newest, with the latest value beside it. The line is
 * scaled from 0 to the largest value; `format` writes the values (the latest, and the range in the tooltip).
 */
export function sparkline(label, values, format = (v) => num(v, 1)) {
  const width = 160;
  const height = 32;
  const known = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const max = Math.max(0, ...known);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (v) => (height - 2 - (max > 0 ? (v / max) * (height - 4) : 0)).toFixed(1);
  const points = values.map((v, i) => (v === null || v === undefined ? null : `${(i * step).toFixed(1)},${y(v)}`)).filter(Boolean);
  const latest = known.length ? known[known.length - 1] : null;
  const title = known.length ? `${label}: ${known.length} samples, from ${format(Math.min(...known))} to ${format(max)}` : `${label}: no samples yet`;
  const chart = svgEl(
    'svg',
    { class: 'sparkline-chart', viewBox: `0 0 ${width} ${height}`, width, height, preserveAspectRatio: 'none', role: 'img', 'aria-label': title },
    svgEl('title', {}, document.createTextNode(title)),
    svgEl('line', { x1: 0, y1: height - 1, x2: width, y2: height - 1, class: 'sparkline-base' }),
    points.length > 1 ? svgEl('polyline', { points: points.join(' '), class: 'sparkline-line' }) : null,
  );
  return h(
    'div',
    { class: 'sparkline', data: { sparkline: label, points: String(known.length) } },
    h('div', { class: 'sparkline-label' }, label),
    chart,
    h('div', { class: 'sparkline-value' }, latest === null ? '—' : format(latest)),
  );
}

/**
 * Paging controls of a keyset-paged list: "First page" once paged on, "Next page" while there are more. The
 * cursor lives in the route (`param`, default `after`) so a page can be bookmarked; `shown` says what is listed.
 */
export function pager({ route, setParams }, { hasMore, next, shown, param = 'after' }) {
  const paged = Boolean(route.params[param]);
  return h(
    'div',
    { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'muted pager-shown' }, shown),
    paged ? h('button', { type: 'button', class: 'pager-first', on: { click: () => setParams({ [param]: '' }) } }, '« First page') : null,
    hasMore && next ? h('button', { type: 'button', class: 'pager-next', on: { click: () => setParams({ [param]: next }) } }, 'Next page »') : null,
  );
}

/** Page sizes offered by the lists (a bookmarked `limit` of another size is kept). */
export const PAGE_SIZES = [25, 50, 100, 200];

/** A page-size picker for the page tools: choosing one starts from the first page. */
export function pageSize({ route, setParams }, fallback = 50) {
  const current = Number(route.params.limit ?? fallback);
  const sizes = PAGE_SIZES.includes(current) ? PAGE_SIZES : [...PAGE_SIZES, current].sort((a, b) => a - b);
  return h(
    'label',
    { class: 'inline' },
    'Per page ',
    h(
      'select',
      { 'aria-label': 'Per page', on: { change: (ev) => setParams({ limit: Number(ev.target.value) === fallback ? '' : ev.target.value, after: '', before: '' }) } },
      sizes.map((s) => h('option', { value: String(s), selected: s === current }, String(s))),
    ),
  );
}

/**
 * Rows picked for a bulk action, kept across the page's refreshes. `key(row)` names a row; `onChange` runs
 * after every change (to update the action's button).
 */
export class Selection {
  constructor() {
    this.picked = new Map();
    this.onChange = () => {};
  }
  has(key) {
    return this.picked.has(key);
  }
  set(key, row, on) {
    if (on) this.picked.set(key, row);
    else this.picked.delete(key);
    this.onChange();
  }
  clear() {
    this.picked.clear();
    this.onChange();
  }
  get size() {
    return this.picked.size;
  }
  rows() {
    return [...this.picked.values()];
  }
  /** A column of checkboxes for `table()`; rows `eligible(row)` refuses get none. Its header picks the whole page. */
  column(key, eligible, rows, label = 'Select') {
    const pickable = rows.filter(eligible);
    const all = h('input', {
      type: 'checkbox',
      'aria-label': `${label} all on this page`,
      checked: pickable.length > 0 && pickable.every((r) => this.has(key(r))),
      disabled: pickable.length === 0,
      on: {
        change: (ev) => {
          for (const r of pickable) this.set(key(r), r, ev.target.checked);
          for (const box of ev.target.closest('table').querySelectorAll('tbody input[type=checkbox]')) box.checked = ev.target.checked;
        },
      },
    });
    return {
      label: all,
      class: 'pick',
      cell: (r) =>
        eligible(r) ? h('input', { type: 'checkbox', 'aria-label': `${label} ${key(r)}`, checked: this.has(key(r)), on: { change: (ev) => this.set(key(r), r, ev.target.checked) } }) : null,
    };
  }
}
