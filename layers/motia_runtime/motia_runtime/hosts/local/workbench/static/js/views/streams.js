// Streams: each stream with its schema, groups and items, live. Item changes come from the
// Workbench feed (not from joining the stream), so browsing here does not count as a client of
// the app's streams; the connected-client and delivered-frame figures are the app's own.

import {getJSON} from '../api.js';
import {headline} from './live.js';
import {liveAnalytics} from './stream-analytics.js';
import {add, badge, clear, clock, empty, fill, flash, h, jsonBlock, preview, progressBar, throttle} from '../dom.js';

export const title = 'Streams';
export const icon = 'streams';

const STATS_EVERY_MS = 2000;
const MAX_EVENTS = 30;

function stat(label, value, id) {
  return h('div', {class: 'stat'}, h('span', {class: 'stat-value', id}, String(value)), h('span', {class: 'stat-label'}, label));
}

export function mount(root, app, params) {
  const list = h('nav', {class: 'card list', id: 'stream-list'});
  const main = h('section', {class: 'stream-main', id: 'stream-main'});
  const connections = h('span', {class: 'badge badge-neutral', id: 'stream-connections'}, '…');
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'Streams', ' ', connections),
    h('p', {class: 'muted'}, 'Groups and items of every stream as they change, and who is listening.')),
  h('div', {class: 'split'}, list, main));

  let streams = [];
  let selected = params.arg;
  let group = params.query.get('group');
  let items = new Map();
  const events = [];
  let groupsEl = null;
  let itemsEl = null;
  let eventsEl = null;
  const opened = new Set();  // items whose JSON is unfolded survive live re-renders
  const toggled = (id, open) => (open ? opened.add(id) : opened.delete(id));

  const current = () => streams.find((st) => st.name === selected);
  // Live analytics (frames/s chart, lag, refused joins): one poller for the view's lifetime,
  // re-attached to the card each time the main pane is rebuilt.
  const liveBox = h('div', {id: 'stream-live'});
  const stopLive = liveAnalytics(liveBox, () => selected);

  function renderList() {
    fill(list, h('h3', {}, 'Streams'), streams.length ? streams.map((st) => h('a', {
      class: ['list-item', 'stream-item', st.name === selected && 'active'], href: app.link('streams', st.name), dataset: {stream: st.name}},
    h('strong', {}, st.name, st.public === false && badge('private', 'neutral', {
      class: 'stream-private', title: 'Not public: app clients need a token; the Workbench asks motia dev for one'})),
    h('span', {class: 'muted small'}, `${st.groups.length} groups · ${st.clients} clients · ${st.framesPushed} frames`))) : empty('No streams.'));
  }

  function renderStats() {
    const st = current();
    const box = main.querySelector('#stream-stats');
    if (!st || !box) return;
    box.replaceChildren(stat('groups', st.groups.length), stat('clients connected', st.clients, 'stat-clients'),
      stat('subscriptions', st.subscribers), stat('frames delivered', st.framesPushed, 'stat-frames'));
  }

  function renderGroups() {
    const st = current();
    if (!st || !groupsEl) return;
    fill(groupsEl, st.groups.length ? st.groups.map((g) => h('a', {
      class: ['group-chip', g === group && 'active'], href: app.link('streams', st.name, {group: g}), dataset: {group: g}}, g))
      : empty('No groups yet.'));
  }

  function renderItems(changedIds = []) {
    if (!itemsEl) return;
    const rows = [...items.values()].sort((a, b) => (a._createdAt ?? 0) - (b._createdAt ?? 0));
    fill(itemsEl, !group ? empty('Select a group.') : rows.length ? h('table', {class: 'table items-table'},
      h('colgroup', {}, h('col', {class: 'col-id'}), h('col'), h('col', {class: 'col-progress'}), h('col', {class: 'col-time'})),
      h('thead', {}, h('tr', {}, h('th', {}, 'id'), h('th', {}, 'item'), h('th', {}, 'progress'), h('th', {}, 'created'))),
      h('tbody', {}, rows.map((item) => {
        const {id, _createdAt, __motia, ...data} = item;
        return h('tr', {dataset: {id}}, h('td', {}, h('code', {title: id}, id)),
          h('td', {}, h('details', {open: opened.has(id), ontoggle: (e) => toggled(id, e.target.open)},
            h('summary', {}, headline(data)), jsonBlock(data))),
          h('td', {}, progressBar(data.progress)),
          h('td', {class: 'muted nowrap'}, _createdAt ? clock(_createdAt) : ''));
      }))) : empty('This group is empty.'));
    for (const id of changedIds) {
      const row = itemsEl.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
      if (row) flash(row);
    }
  }

  // Pushed changes are drawn at most once per interval: the table is rebuilt whole, and a group
  // written in a burst (a load test, a loop of updates) would otherwise rebuild it per frame and
  // freeze the page for minutes.
  const renderNewGroups = throttle(() => { renderGroups(); renderList(); }, 200);
  const changed = new Set();
  const renderChanged = throttle(() => {
    const ids = [...changed];
    changed.clear();
    renderItems(ids);
  }, 200);

  function renderEvents() {
    if (!eventsEl) return;
    fill(eventsEl, events.length ? events.map((e) => h('div', {class: 'ev-row'},
      h('span', {class: 'ev-time'}, clock(e.timestamp)), badge(e.item?.type || 'event', 'neutral'),
      h('span', {class: 'ev-text muted'}, preview(e.item?.data, 140)))) : empty('No ephemeral events (send) seen in this group.'));
  }

  // Changes pushed while a snapshot is being fetched are kept and replayed on top of it: the
  // snapshot may have been read before them, and the feed's frames arrive in order. Each load
  // has its own buffer, as loads may overlap.
  const buffers = new Set();

  function applyChange(change) {
    if (change.change === 'delete') items.delete(change.id); else items.set(change.id, change.item);
  }

  async function loadItems() {
    items = new Map();
    events.length = 0;
    if (selected && group) {
      const buffer = [];
      buffers.add(buffer);
      try {
        const {items: fetched} = await getJSON(`/__motia/streams/${encodeURIComponent(selected)}/groups/${encodeURIComponent(group)}`);
        items = new Map(fetched.map((item) => [item.id, item]));
        buffer.forEach(applyChange);
      } finally {
        buffers.delete(buffer);
      }
    }
    renderItems();
    renderEvents();
  }

  function renderMain() {
    const st = current();
    clear(main);
    groupsEl = itemsEl = eventsEl = null;
    if (!st) { add(main, h('div', {class: 'card'}, empty(streams.length ? 'Select a stream.' : 'No streams.'))); return; }
    groupsEl = h('div', {class: 'group-chips', id: 'stream-groups'});
    itemsEl = h('div', {id: 'stream-items'});
    eventsEl = h('div', {class: 'event-list', id: 'stream-events'});
    add(main, 
      h('div', {class: 'card'}, h('h2', {}, st.name), st.description && h('p', {class: 'muted'}, st.description),
        h('div', {class: 'stats', id: 'stream-stats'}),
        h('details', {}, h('summary', {}, 'Schema'), jsonBlock(st.schema))),
      h('div', {class: 'card'}, h('h3', {}, 'Live'), liveBox),
      h('div', {class: 'card'}, h('h3', {}, 'Groups'), groupsEl),
      h('div', {class: 'card'}, h('h3', {}, group ? h('span', {}, 'Items of ', h('code', {}, group)) : 'Items'), itemsEl),
      group ? h('div', {class: 'card'}, h('h3', {}, 'Events'), eventsEl) : null);
    renderStats();
    renderGroups();
    loadItems().catch((error) => add(itemsEl, h('div', {class: 'error-box'}, error.message)));
  }

  let last = null;
  async function loadStreams() {
    const body = await getJSON('/__motia/streams');
    const json = JSON.stringify(body);
    if (json === last) return;  // unchanged: keep the DOM (a click in progress would be lost)
    last = json;
    streams = body.streams;
    connections.textContent = `${body.connections} connection${body.connections === 1 ? '' : 's'}`;
    if (!selected && streams.length) selected = streams[0].name;
    renderList();
    renderStats();
    renderGroups();
  }

  const offStream = app.feed.on('stream', (change) => {
    if (change.streamName !== selected) return;
    const st = current();
    if (st && !st.groups.includes(change.groupId)) { st.groups.push(change.groupId); renderNewGroups(); }
    if (change.groupId !== group) return;
    if (change.change === 'event') {
      events.unshift(change);
      events.length = Math.min(events.length, MAX_EVENTS);
      renderEvents();
      return;
    }
    if (buffers.size) { for (const buffer of buffers) buffer.push(change); return; }
    applyChange(change);
    changed.add(change.id);
    renderChanged();
  });
  const offOpen = app.feed.on('open', () => { loadStreams().then(renderMain).catch(() => {}); });
  const timer = setInterval(() => loadStreams().catch(() => {}), STATS_EVERY_MS);
  loadStreams().then(renderMain).catch((error) => add(main, h('div', {class: 'error-box'}, error.message)));

  return {
    update(next) {
      const nextGroup = next.query.get('group');
      if (next.arg === selected && nextGroup === group) return;
      selected = next.arg || selected;
      group = nextGroup;
      renderList();
      renderMain();
    },
    unmount() { offStream(); offOpen(); clearInterval(timer); stopLive(); },
  };
}
