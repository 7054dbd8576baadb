// State: the state store's groups, and the keys and values of the selected one, which can be
// edited (a JSON editor, checked as you type: invalid JSON cannot be saved) and deleted, as in
// Motia's Workbench (PUT / DELETE /__motia/state/<group>/<key>). It refreshes when a step or
// another page writes state (the feed's 'state' frames); an open editor survives the refresh.

import {ApiError, getJSON, sendJSON} from '../api.js';
import {add, empty, fill, h, jsonBlock, preview, throttle} from '../dom.js';

export const title = 'State';
export const icon = 'state';

const stateUrl = (group, key) => `/__motia/state/${encodeURIComponent(group)}/${encodeURIComponent(key)}`;
const pretty = (value) => JSON.stringify(value, null, 2);

/** Why `text` is not JSON, or null when it is. */
function jsonProblem(text) {
  if (!text.trim()) return 'Not valid JSON: empty (write null to store nothing)';
  try { JSON.parse(text); return null; } catch (error) { return `Not valid JSON: ${error.message}`; }
}

export function mount(root, app, params) {
  const filter = h('input', {class: 'search', type: 'search', placeholder: 'Filter groups', id: 'state-filter'});
  const groupsEl = h('div', {id: 'state-groups'});
  const notice = h('div', {class: 'notice', id: 'state-notice', role: 'status'});
  const main = h('section', {class: 'card', id: 'state-items'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'State'),
    h('p', {class: 'muted'}, 'What steps keep with ctx.state, by group and key. Values can be edited and deleted here.')),
  h('div', {class: 'split'}, h('nav', {class: 'card list'}, filter, groupsEl), h('div', {}, notice, main)));

  let groups = [];
  let selected = params.arg;
  let items = [];
  const editors = new Map();     // key → editor (its element survives live re-renders)
  const confirming = new Set();  // keys whose Delete awaits confirmation
  let loads = 0;

  const say = (text, kind = '') => { notice.className = ['notice', kind && `notice-${kind}`].filter(Boolean).join(' '); notice.textContent = text; };

  function renderGroups() {
    const text = filter.value.trim().toLowerCase();
    const shown = groups.filter((g) => !text || g.toLowerCase().includes(text));
    fill(groupsEl, shown.length ? shown.map((g) => h('a', {
      class: ['list-item', g === selected && 'active'], href: app.link('state', g), dataset: {group: g}}, h('code', {}, g)))
      : empty(groups.length ? 'No group matches.' : 'No state yet.'));
  }

  function editor(key, value) {
    const original = pretty(value);
    const text = h('textarea', {class: 'code-editor state-editor', spellcheck: 'false', 'aria-label': `Value of ${key}`,
      rows: Math.min(Math.max(original.split('\n').length + 1, 4), 18)}, original);
    const problem = h('div', {class: 'field-error state-error', role: 'alert'});
    const drift = h('div', {class: 'state-drift'});
    const save = h('button', {class: 'button small primary state-save'}, 'Save');
    const cancel = h('button', {class: 'button small state-cancel'}, 'Cancel');
    const check = () => {
      const why = jsonProblem(text.value);
      problem.textContent = why || '';
      text.classList.toggle('invalid', Boolean(why));
      save.disabled = Boolean(why);
      return why;
    };
    text.addEventListener('input', check);
    text.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') save.click();
      if (e.key === 'Escape') cancel.click();
    });
    cancel.addEventListener('click', () => { editors.delete(key); renderItems(); });
    save.addEventListener('click', async () => {
      if (check()) return;
      save.disabled = true;
      try {
        await sendJSON(stateUrl(selected, key), 'PUT', text.value);
        editors.delete(key);
        say(`Saved ${key}.`);
        await loadItems();
      } catch (error) {
        problem.textContent = error instanceof ApiError ? `Not saved: ${error.message}` : `Not saved: ${error}`;
        save.disabled = false;
      }
    });
    const el = h('div', {class: 'state-edit'}, text, problem, drift, h('div', {class: 'actions tight'}, save, cancel,
      h('span', {class: 'muted small'}, 'Ctrl+Enter saves, Esc cancels')));
    return {el, text, original, drift, focus: () => text.focus()};
  }

  function actions(key) {
    if (confirming.has(key)) {
      return h('div', {class: 'row-actions'}, h('span', {class: 'small text-error'}, 'Delete this key?'),
        h('button', {class: 'button small danger state-confirm-delete', onclick: () => remove(key)}, 'Delete'),
        h('button', {class: 'button small', onclick: () => { confirming.delete(key); renderItems(); }}, 'Keep'));
    }
    return h('div', {class: 'row-actions'},
      h('button', {class: 'button small state-edit-button', disabled: editors.has(key), onclick: () => {
        const value = items.find((i) => i.key === key)?.value;
        const opened = editor(key, value);
        editors.set(key, opened);
        renderItems();
        opened.focus();
      }}, 'Edit'),
      h('button', {class: 'button small danger state-delete', onclick: () => { confirming.add(key); renderItems(); }}, 'Delete'));
  }

  async function remove(key) {
    confirming.delete(key);
    try {
      await sendJSON(stateUrl(selected, key), 'DELETE');
      editors.delete(key);
      say(`Deleted ${key}.`);
    } catch (error) {
      say(`Not deleted: ${error.message}`, 'error');
    }
    await loadItems().catch(() => {});
  }

  function renderItems() {
    // Keep the caret of an editor being typed in across the re-render.
    const active = document.activeElement;
    const caret = active?.classList?.contains('state-editor') ? [active.selectionStart, active.selectionEnd] : null;
    if (!selected) { fill(main, empty('Select a group.')); return; }
    const keys = new Set(items.map((i) => i.key));
    for (const key of [...editors.keys()]) if (!keys.has(key)) editors.delete(key);
    fill(main, h('h2', {}, h('code', {}, selected)), items.length ? h('table', {class: 'table state-table'},
      h('colgroup', {}, h('col', {class: 'col-key'}), h('col'), h('col', {class: 'col-actions'})),
      h('thead', {}, h('tr', {}, h('th', {}, 'key'), h('th', {}, 'value'), h('th', {}, ''))),
      h('tbody', {}, items.map(({key, value}) => {
        const open = editors.get(key);
        if (open) {
          open.drift.textContent = pretty(value) === open.original ? ''
            : 'Changed on the server since you opened it: saving replaces that value.';
        }
        return h('tr', {dataset: {key}, class: open && 'editing'}, h('td', {}, h('code', {}, key)),
          h('td', {}, open ? open.el : h('details', {}, h('summary', {}, preview(value, 160)), jsonBlock(value))),
          h('td', {class: 'nowrap'}, actions(key)));
      })))
      : empty('This group is empty.'));
    if (caret && active.isConnected) {
      active.focus();
      active.setSelectionRange(...caret);
    }
  }

  async function loadItems() {
    const load = ++loads;
    if (!selected) { items = []; renderItems(); return; }
    const group = selected;
    const {items: fetched} = await getJSON(`/__motia/state?group=${encodeURIComponent(group)}`);
    if (load !== loads || group !== selected) return;  // a newer load, or another group, won
    items = fetched;
    renderItems();
  }

  async function loadGroups() {
    ({groups} = await getJSON('/__motia/state'));
    renderGroups();
  }

  const refresh = throttle(() => { loadGroups().catch(() => {}); loadItems().catch(() => {}); }, 300);
  const offState = app.feed.on('state', (change) => {
    if (!groups.includes(change.group) || change.group === selected) refresh();
  });
  filter.addEventListener('input', renderGroups);
  loadGroups().catch((error) => add(groupsEl, h('div', {class: 'error-box'}, error.message)));
  loadItems().catch((error) => add(main, h('div', {class: 'error-box'}, error.message)));

  return {
    update(next) {
      if (next.arg === selected) return;
      selected = next.arg;
      editors.clear();
      confirming.clear();
      say('');
      renderGroups();
      fill(main, empty('Loading…'));
      loadItems().catch((error) => add(main, h('div', {class: 'error-box'}, error.message)));
    },
    unmount: offState,
  };
}
