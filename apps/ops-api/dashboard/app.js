// The dashboard shell: sign-in, hash routes, the live refresh loop and the action dialog. Each page
// (pages/*.js) says what to load and how to draw it; this module runs them.
import { ApiError, api, session } from './api.js';
import { fill, h, problemNodes, showProblem } from './dom.js';
import overview from './pages/overview.js';
import streams from './pages/streams.js';
import devices from './pages/devices.js';
import parked from './pages/parked.js';
import conflicts from './pages/conflicts.js';
import { replayDetail, replays } from './pages/replays.js';
import assets from './pages/assets.js';
import audit from './pages/audit.js';
import scopes from './pages/scopes.js';
import queues from './pages/queues.js';

/** How often a page refreshes while the tab is visible. */
export const REFRESH_MS = 2000;

const PAGES = { overview, streams, devices, scopes, parked, conflicts, replays, assets, queues, audit };
const $ = (id) => document.getElementById(id);

/** `#/replays/<id>?change=all` → { name: 'replays', id, params }. */
function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = hash.split('?');
  const [name = 'overview', id] = path.split('/').map(decodeURIComponent);
  return { name, id, params: Object.fromEntries(new URLSearchParams(search)) };
}

/** Sets query parameters of the current route (empty values removed); the page reloads with them. */
function setParams(changes) {
  const route = parseHash();
  const params = { ...route.params, ...changes };
  for (const [k, v] of Object.entries(params)) if (v === undefined || v === null || v === '') delete params[k];
  const search = new URLSearchParams(params).toString();
  location.hash = `#/${[route.name, route.id].filter(Boolean).map(encodeURIComponent).join('/')}${search ? `?${search}` : ''}`;
}

// ---- the refresh loop --------------------------------------------------------------------------------

const state = {
  page: null, // the page object being shown
  route: null,
  entered: true,
  generation: 0, // bumps on every navigation: answers for an older page are dropped
  timer: null,
  inFlight: null, // the generation whose refresh is under way
  again: false, // refresh once more as soon as the one under way ends (an action just changed something)
  lastUpdated: null,
  failing: false,
};

function showUpdated() {
  const el = $('updated');
  if (document.hidden) {
    el.dataset.state = 'paused';
    el.textContent = 'Paused while the tab is hidden';
  } else if (state.failing) {
    el.dataset.state = 'error';
    el.textContent = state.lastUpdated ? `Refresh failing · last updated ${state.lastUpdated.toLocaleTimeString()}` : 'Refresh failing';
  } else {
    el.dataset.state = state.lastUpdated ? 'live' : 'loading';
    el.textContent = state.lastUpdated ? `Updated ${state.lastUpdated.toLocaleTimeString()} · live every ${REFRESH_MS / 1000} s` : 'Loading…';
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = document.hidden ? null : setTimeout(refresh, REFRESH_MS);
}

/** Loads the current page's data and redraws it; an error is shown above the last good data. */
async function refresh() {
  clearTimeout(state.timer);
  if (!state.page || document.hidden) return showUpdated();
  const generation = state.generation;
  if (state.inFlight === generation) {
    state.again = true;
    return;
  }
  state.inFlight = generation;
  try {
    const data = await state.page.load(context());
    if (generation !== state.generation) return;
    state.page.render(data, context());
    state.lastUpdated = new Date();
    state.failing = false;
    showProblem($('page-error'), null);
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.isAuth) return signOut(error);
    state.failing = true;
    showProblem($('page-error'), error);
  } finally {
    if (state.inFlight === generation) state.inFlight = null;
    if (generation === state.generation && state.page) {
      showUpdated();
      if (state.again) {
        state.again = false;
        void refresh();
      } else {
        schedule();
      }
    }
  }
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    clearTimeout(state.timer);
    showUpdated();
  } else if (state.page) {
    void refresh();
  }
});

// ---- pages -----------------------------------------------------------------------------------------

/** What a page gets: its route, the API, navigation, the action dialog and a flash message. */
function context() {
  return { route: state.route, entered: state.entered, api, setParams, refresh, dialog, flash, body: $('page-body'), tools: $('page-tools'), above: $('page-above') };
}

function route() {
  if (!session.token()) return showSignIn();
  const r = parseHash();
  const page = r.name === 'replays' && r.id ? replayDetail : PAGES[r.name];
  if (!page) {
    location.hash = '#/overview';
    return;
  }
  // A dialog belongs to the page that opened it: it does not survive navigation.
  if ($('dialog').open) $('dialog').close();
  state.generation += 1;
  // Whether this page was just opened (not only its parameters changed): a page keeps what the operator
  // picked across its own pages and filters, not across pages.
  state.entered = state.page !== page;
  state.page = page;
  state.route = r;
  state.lastUpdated = null;
  state.failing = false;
  state.again = false;
  $('signin').hidden = true;
  $('page').hidden = false;
  $('nav').hidden = false;
  $('session').hidden = false;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.route === r.name);
  $('page-title').textContent = typeof page.title === 'function' ? page.title(r) : page.title;
  document.title = `${$('page-title').textContent} · tidemark ops`;
  fill($('page-tools'));
  fill($('page-above'));
  fill($('page-body'), h('p', { class: 'empty' }, 'Loading…'));
  showProblem($('page-error'), null);
  page.setup?.(context());
  void refresh();
}

window.addEventListener('hashchange', () => {
  $('flash').hidden = true;
  route();
});

// ---- sign-in ---------------------------------------------------------------------------------------

function showSignIn(error) {
  if ($('dialog').open) $('dialog').close();
  state.generation += 1;
  state.page = null;
  clearTimeout(state.timer);
  $('page').hidden = true;
  $('nav').hidden = true;
  $('session').hidden = true;
  $('signin').hidden = false;
  const box = $('signin-error');
  if (error) {
    const why = error.status === 403 ? 'This token may not use the operator API' : error.status === 401 ? 'Sign-in refused' : 'Could not check the token';
    fill(box, h('div', {}, why), h('div', {}, problemNodes(error)));
    box.hidden = false;
  } else {
    box.hidden = true;
  }
  $('token').focus();
}

function signOut(error) {
  session.signOut();
  showSignIn(error);
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  const button = event.submitter ?? $('signin-form').querySelector('button');
  button.disabled = true;
  try {
    await api('/v1/overview', { token });
    session.signIn(token);
    $('token').value = '';
    if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/overview';
    else route();
  } catch (error) {
    showSignIn(error);
  } finally {
    button.disabled = false;
  }
});

$('sign-out').addEventListener('click', () => signOut());

// ---- flash messages and the action dialog ----------------------------------------------------------

function flash(message, kind = 'ok') {
  const el = $('flash');
  el.className = `flash ${kind}`;
  el.textContent = message;
  el.hidden = false;
}

let dialogSubmit = null;

/**
 * Asks for what an action needs and runs it. `fields`: `{ name, label, type: text|textarea|select|radio|checkbox,
 * options, value, required, hint }`; `intro`: nodes above them. `submit(values)` calls the API and returns the
 * message to flash; a failure is shown in the dialog, which stays open so the operator can correct it.
 */
function dialog({ title, intro, fields = [], submitLabel = 'OK', submit, danger = false }) {
  const dlg = $('dialog');
  $('dialog-title').textContent = title;
  fill($('dialog-body'), intro ? h('div', { class: 'dialog-intro' }, intro) : null, fields.map(field));
  showProblem($('dialog-error'), null);
  const ok = $('dialog-submit');
  ok.textContent = submitLabel;
  ok.classList.toggle('danger', danger);
  ok.disabled = false;
  dialogSubmit = async () => {
    const form = $('dialog-form');
    const values = {};
    for (const f of fields) {
      if (f.type === 'radio') values[f.name] = form.querySelector(`input[name="${f.name}"]:checked`)?.value;
      else if (f.type === 'checkbox') values[f.name] = form.elements[f.name].checked;
      else values[f.name] = form.elements[f.name].value;
    }
    ok.disabled = true;
    try {
      const message = await submit(values);
      dlg.close();
      if (message) flash(message);
      void refresh();
    } catch (error) {
      if (error instanceof ApiError && error.isAuth) {
        dlg.close();
        return signOut(error);
      }
      showProblem($('dialog-error'), error);
    } finally {
      ok.disabled = false;
    }
  };
  dlg.showModal();
  dlg.querySelector('textarea, input:not([type=radio]):not([type=checkbox]), select')?.focus();
}

function field(f) {
  const id = `field-${f.name}`;
  let control;
  if (f.type === 'textarea') control = h('textarea', { id, name: f.name, rows: f.rows ?? 3, required: f.required, spellcheck: 'false' }, f.value ?? '');
  else if (f.type === 'select')
    control = h(
      'select',
      { id, name: f.name },
      f.options.map((o) => h('option', { value: o.value, selected: o.value === f.value }, o.label)),
    );
  else if (f.type === 'radio') {
    return h(
      'fieldset',
      { class: 'field' },
      h('legend', {}, f.label),
      f.options.map((o) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: f.name, value: o.value, checked: o.value === f.value }), ' ', o.label)),
      f.hint ? h('div', { class: 'hint' }, f.hint) : null,
    );
  } else if (f.type === 'checkbox') {
    return h('div', { class: 'field' }, h('label', { class: 'choice' }, h('input', { type: 'checkbox', id, name: f.name, required: f.required }), ' ', f.label));
  } else control = h('input', { id, name: f.name, type: 'text', value: f.value ?? '', required: f.required, autocomplete: 'off' });
  return h('div', { class: 'field' }, h('label', { for: id }, f.label), control, f.hint ? h('div', { class: 'hint' }, f.hint) : null);
}

$('dialog-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void dialogSubmit?.();
});
$('dialog-cancel').addEventListener('click', () => $('dialog').close());

route();
