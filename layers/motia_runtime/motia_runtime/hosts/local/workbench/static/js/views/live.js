// The live part of an Endpoints response: the returned stream item, watched over the stream
// WebSocket (join with the item's streamName/groupId/id), with each value it goes through kept
// as a stage, and the item's whole group beside it (several items per group are common: the
// pet shelter writes a journey message plus one item per enrichment step and status).

import {add, badge, fill, flash, h, jsonBlock, preview, progressBar} from '../dom.js';

const MAX_STAGES = 200;

const markerOf = (value) => (value && typeof value === 'object' && !Array.isArray(value)
  && value.__motia && typeof value.__motia.streamName === 'string' ? value.__motia : null);

/** The `__motia` marker of a response body: the body itself, or an item in it (one level down). */
export function findStreamRef(body) {
  if (markerOf(body)) return markerOf(body);
  const children = Array.isArray(body) ? body : body && typeof body === 'object' ? Object.values(body) : [];
  for (const child of children) if (markerOf(child)) return markerOf(child);
  return null;
}

/** What a person reads first in an item: its message (or text), else a compact preview. */
export function headline(item) {
  if (!item) return '(deleted)';
  for (const key of ['message', 'text', 'title', 'name', 'status']) if (typeof item[key] === 'string' && item[key]) return item[key];
  const {id, _createdAt, __motia, ...rest} = item;
  return preview(rest, 160);
}

function itemRow(item) {
  return h('div', {class: 'group-item', dataset: {id: item.id}},
    h('code', {class: 'group-item-id', title: item.id}, item.id),
    h('div', {class: 'group-item-text'}, headline(item)),
    h('div', {class: 'group-item-tags'},
      typeof item.stage === 'string' && badge(item.stage, 'neutral'),
      typeof item.status === 'string' && badge(item.status, 'info')),
    h('div', {class: 'group-item-progress'}, progressBar(item.progress)));
}

export class LiveItem {
  constructor(client, ref, initial) {
    this.ref = ref;
    this.started = performance.now();
    this.stages = [];
    this.updates = 0;
    this.rows = new Map();
    this.item = h('div', {class: 'card live-item', id: 'live-item', dataset: {updates: 0, state: 'waiting'}});
    this.group = h('div', {class: 'card live-group', id: 'live-group', dataset: {count: 0}});
    this.el = h('div', {class: 'live-wrap'}, this.item, this.group);
    this.renderItem(initial, false);
    this.itemSub = client.subscribeItem(ref, {
      onChange: (item) => this.renderItem(item, true),
      onError: (error) => add(this.item, h('div', {class: 'error-box'}, `Stream error: ${error?.message || error?.code}`)),
    });
    this.groupSub = client.subscribeGroup(ref, {onChange: (items, change) => this.renderGroup(items, change)});
  }

  renderItem(item, live) {
    if (live) this.updates += 1;
    const last = this.stages[this.stages.length - 1];
    // The response body carries `__motia`, pushed items do not: compare the data only.
    const {__motia, ...data} = item || {};
    const json = item ? JSON.stringify(data) : 'null';
    if (!last || last.json !== json) {
      this.stages.push({t: performance.now() - this.started, item, json});
      if (this.stages.length > MAX_STAGES) this.stages.shift();
    }
    const {streamName, groupId, id} = this.ref;
    Object.assign(this.item.dataset, {updates: this.updates, state: item ? (live ? 'live' : 'waiting') : 'deleted',
                                      stages: this.stages.length});
    fill(this.item, 
      h('div', {class: 'live-head'},
        h('span', {class: ['pulse', item && 'on']}),
        h('h3', {}, 'Live stream item'),
        h('code', {class: 'muted'}, `${streamName} / ${groupId} / ${id}`),
        h('span', {class: 'muted', id: 'live-updates'}, `${this.updates} update${this.updates === 1 ? '' : 's'}`)),
      progressBar(item?.progress),
      h('div', {class: 'live-message', id: 'live-message'}, headline(item)),
      jsonBlock(item, {class: 'item-json', id: 'live-item-json'}),
      h('details', {open: true, class: 'stages'},
        h('summary', {}, `Stages (${this.stages.length})`),
        h('ol', {class: 'stage-list', id: 'stage-list'}, this.stages.slice().reverse().map((stage) => h('li', {},
          h('span', {class: 'stage-time'}, `+${(stage.t / 1000).toFixed(2)} s`),
          typeof stage.item?.stage === 'string' && badge(stage.item.stage, 'neutral'),
          h('span', {class: 'stage-text'}, headline(stage.item)))))));
    if (live) flash(this.item.querySelector('.live-message'));
  }

  renderGroup(items, change) {
    const sorted = [...items].sort((a, b) => (a._createdAt ?? 0) - (b._createdAt ?? 0));
    this.group.dataset.count = String(sorted.length);
    fill(this.group, 
      h('div', {class: 'live-head'},
        h('span', {class: 'pulse on'}),
        h('h3', {}, 'Live group'),
        h('code', {class: 'muted'}, `${this.ref.streamName} / ${this.ref.groupId}`),
        h('span', {class: 'muted'}, `${sorted.length} item${sorted.length === 1 ? '' : 's'}`)),
      h('div', {class: 'group-items', id: 'live-group-items'}, sorted.map(itemRow)));
    if (change?.id && change.type !== 'sync') {
      const row = this.group.querySelector(`.group-item[data-id="${CSS.escape(change.id)}"]`);
      if (row) flash(row);
    }
  }

  close() {
    this.itemSub.close();
    this.groupSub.close();
  }
}
