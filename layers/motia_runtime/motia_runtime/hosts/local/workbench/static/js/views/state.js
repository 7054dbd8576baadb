// State: the state store's groups, and the keys and values of the selected one. It refreshes
// when a step writes state (the feed's 'state' frames).

import {getJSON} from '../api.js';
import {add, clear, empty, fill, h, jsonBlock, preview, throttle} from '../dom.js';

export const title = 'State';
export const icon = 'state';

export function mount(root, app, params) {
  const filter = h('input', {class: 'search', type: 'search', placeholder: 'Filter groups', id: 'state-filter'});
  const groupsEl = h('div', {id: 'state-groups'});
  const main = h('section', {class: 'card', id: 'state-items'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'State'),
    h('p', {class: 'muted'}, 'What steps keep with ctx.state, by group and key.')),
  h('div', {class: 'split'}, h('nav', {class: 'card list'}, filter, groupsEl), main));

  let groups = [];
  let selected = params.arg;

  function renderGroups() {
    const text = filter.value.trim().toLowerCase();
    const shown = groups.filter((g) => !text || g.toLowerCase().includes(text));
    fill(groupsEl, shown.length ? shown.map((g) => h('a', {
      class: ['list-item', g === selected && 'active'], href: app.link('state', g), dataset: {group: g}}, h('code', {}, g)))
      : empty(groups.length ? 'No group matches.' : 'No state yet.'));
  }

  async function loadItems() {
    clear(main);
    if (!selected) { add(main, empty('Select a group.')); return; }
    const {items} = await getJSON(`/__motia/state?group=${encodeURIComponent(selected)}`);
    add(main, h('h2', {}, h('code', {}, selected)), items.length ? h('table', {class: 'table state-table'},
      h('colgroup', {}, h('col', {class: 'col-key'}), h('col')),
      h('thead', {}, h('tr', {}, h('th', {}, 'key'), h('th', {}, 'value'))),
      h('tbody', {}, items.map(({key, value}) => h('tr', {dataset: {key}}, h('td', {}, h('code', {}, key)),
        h('td', {}, h('details', {}, h('summary', {}, preview(value, 160)), jsonBlock(value)))))))
      : empty('This group is empty.'));
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
      renderGroups();
      loadItems().catch((error) => add(main, h('div', {class: 'error-box'}, error.message)));
    },
    unmount: offState,
  };
}
