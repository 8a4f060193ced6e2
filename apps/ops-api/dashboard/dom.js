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
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.class, title: c.title }, c.label)))),
      h(
        'tbody',
        {},
        rows.map((row) => h('tr', { class: options.rowClass?.(row), data: options.key ? { key: options.key(row) } : undefined }, columns.map((c) => h('td', { class: c.class, data: c.label ? { col: c.label } : undefined }, c.cell(row))))),
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
