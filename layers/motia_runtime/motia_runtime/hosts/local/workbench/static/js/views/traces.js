// Traces: every trace id (an API request, a cron run, and everything their emits caused), newest
// first, and for the selected one a timeline of its step runs with what each did (emits, state
// and stream calls, logs) and its errors. Both update live from the feed's 'trace' frames.

import {getJSON} from '../api.js';
import {add, badge, clear, clock, dateTime, duration, empty, fill, h, throttle} from '../dom.js';
import {eventRows, timeline} from './trace-parts.js';

export const title = 'Traces';
export const icon = 'traces';

const STATUS_KIND = {running: 'running', ok: 'ok', error: 'error'};
// The list keeps the newest traces, as many as the first load fetches: a page left open during a
// load test would otherwise keep every trace ever pushed and rebuild the whole list for each.
const MAX_LISTED = 300;

function statusBadge(status, attrs = {}) {
  return badge(status, STATUS_KIND[status] || 'neutral', attrs);
}

function listItem(summary, app, selected) {
  return h('a', {class: ['list-item', 'trace-item', selected && 'active'], href: app.link('traces', summary.id),
                 dataset: {traceId: summary.id, status: summary.status}},
    h('div', {class: 'trace-item-top'}, h('span', {class: `dot dot-${summary.status}`}), h('code', {}, summary.id),
      h('span', {class: 'muted right'}, clock(summary.start))),
    h('div', {class: 'trace-item-bottom'}, h('span', {class: 'trace-entry'}, summary.entry || '—'),
      h('span', {class: 'muted'}, `${summary.spans} run${summary.spans === 1 ? '' : 's'}`),
      summary.errors ? badge(`${summary.errors} failed`, 'error') : null,
      h('span', {class: 'muted right'}, summary.status === 'running' ? 'running…' : duration(summary.durationMs))));
}

export function mount(root, app, params) {
  const filter = h('input', {class: 'search', id: 'trace-filter', type: 'search', placeholder: 'Filter by trace id or step'});
  const list = h('div', {class: 'trace-list', id: 'trace-list'});
  const detail = h('section', {class: 'trace-detail', id: 'trace-detail'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'Traces'),
    h('p', {class: 'muted'}, 'Each request, event and cron run by trace id, with the steps it ran and what they did. Live.')),
  h('div', {class: 'split'}, h('nav', {class: 'card list'}, filter, list), detail));

  const summaries = new Map();
  let selected = params.arg;
  let stepFilter = params.query.get('step');
  let trace = null;
  let kinds = new Set(['emit', 'state', 'stream', 'log']);
  const opened = new Set();
  let ticker = null;

  function trim() {
    if (summaries.size <= MAX_LISTED) return;
    const oldest = [...summaries.values()].sort((a, b) => b.start - a.start).slice(MAX_LISTED);
    for (const t of oldest) if (t.id !== selected) summaries.delete(t.id);
  }

  function renderList() {
    const text = filter.value.trim().toLowerCase();
    const rows = [...summaries.values()]
      .filter((t) => !stepFilter || t.steps.includes(stepFilter))
      .filter((t) => !text || t.id.toLowerCase().includes(text) || t.steps.some((st) => st.toLowerCase().includes(text)))
      .sort((a, b) => b.start - a.start);
    fill(list, 
      stepFilter ? h('div', {class: 'filter-chip'}, `step: ${stepFilter}`,
        h('button', {class: 'icon-button', title: 'Clear', onclick: () => app.navigate(app.link('traces', selected))}, '×')) : null,
      rows.length ? rows.map((t) => listItem(t, app, t.id === selected)) : empty('No traces yet: call an endpoint.'));
  }

  function renderDetail() {
    clear(detail);
    if (!selected) { add(detail, h('div', {class: 'card'}, empty('Select a trace.'))); return; }
    if (!trace) { add(detail, h('div', {class: 'card'}, empty(`Trace ${selected} is not (or no longer) recorded.`))); return; }
    const failed = trace.spanList.filter((sp) => sp.error);
    add(detail, 
      h('div', {class: 'card trace-head'},
        h('div', {class: 'trace-title'}, h('h2', {}, h('code', {id: 'trace-id'}, trace.id)),
          statusBadge(trace.status, {id: 'trace-status'})),
        h('div', {class: 'trace-meta muted'},
          `Started ${dateTime(trace.start)} · ${trace.status === 'running' ? 'running' : duration(trace.durationMs)} · `,
          `${trace.spans} step run${trace.spans === 1 ? '' : 's'} · ${trace.events.length} events`,
          trace.droppedEvents ? ` (${trace.droppedEvents} oldest dropped)` : ''),
        h('div', {class: 'actions'},
          h('a', {class: 'button', id: 'trace-logs', href: app.link('logs', null, {traceId: trace.id})}, 'Logs of this trace'))),
      failed.length ? h('div', {class: 'card error-card', id: 'trace-errors'}, h('h3', {}, 'Errors'), failed.map((sp) =>
        h('div', {class: 'error-entry'},
          h('div', {}, h('strong', {}, sp.step), ' — ', h('code', {}, `${sp.error.type}: ${sp.error.message}`)),
          h('details', {}, h('summary', {}, 'Stack'), h('pre', {class: 'stack'}, sp.error.stack))))) : null,
      h('div', {class: 'card'}, h('h3', {}, 'Timeline'), h('div', {id: 'trace-timeline'}, timeline(trace))),
      h('div', {class: 'card'},
        h('div', {class: 'card-head'}, h('h3', {}, 'Events'), kindFilter()),
        h('div', {id: 'trace-events'}, eventRows(trace, kinds, opened))));
  }

  function kindFilter() {
    return h('div', {class: 'chips'}, ['emit', 'state', 'stream', 'log'].map((kind) => h('label', {class: 'chip'},
      h('input', {type: 'checkbox', checked: kinds.has(kind), onchange: (e) => {
        kinds = new Set(kinds);
        if (e.target.checked) kinds.add(kind); else kinds.delete(kind);
        fill(detail.querySelector('#trace-events'), eventRows(trace, kinds, opened));
      }}), `${kind} (${trace.counts[kind] || 0})`)));
  }

  async function loadDetail() {
    if (!selected) { trace = null; renderDetail(); return; }
    try {
      trace = await getJSON(`/__motia/traces/${encodeURIComponent(selected)}`);
    } catch {
      trace = null;
    }
    renderDetail();
    clearInterval(ticker);
    // While a step runs, its bar grows with the clock between pushes.
    if (trace?.status === 'running') {
      ticker = setInterval(() => {
        const box = detail.querySelector('#trace-timeline');
        if (box && trace) fill(box, timeline(trace));
      }, 250);
    }
  }
  const refreshDetail = throttle(loadDetail, 250);

  // Summaries pushed while the list is being fetched are replayed on top of it (see streams.js);
  // each load has its own buffer, as loads may overlap (first mount and the feed's 'open').
  const buffers = new Set();

  async function loadList() {
    const buffer = [];
    buffers.add(buffer);
    try {
      const {traces} = await getJSON(`/__motia/traces?limit=${MAX_LISTED}`);
      summaries.clear();
      for (const t of [...traces, ...buffer]) summaries.set(t.id, t);
      trim();
    } finally {
      buffers.delete(buffer);
    }
    renderList();
  }
  // A burst of pushes (each trace is pushed as it starts and as each run ends) is drawn once per
  // interval, not once per frame.
  const renderPushed = throttle(() => { trim(); renderList(); }, 200);

  const offTrace = app.feed.on('trace', (summary) => {
    for (const buffer of buffers) buffer.push(summary);
    summaries.set(summary.id, summary);
    renderPushed();
    if (summary.id === selected) refreshDetail();
  });
  const offOpen = app.feed.on('open', () => { loadList(); loadDetail(); });
  filter.addEventListener('input', renderList);
  loadList().catch((error) => add(list, h('div', {class: 'error-box'}, error.message)));
  loadDetail();

  return {
    update(next) {
      stepFilter = next.query.get('step');
      if (next.arg !== selected) {
        selected = next.arg;
        opened.clear();
        loadDetail();
      }
      renderList();
    },
    unmount() {
      offTrace();
      offOpen();
      clearInterval(ticker);
    },
  };
}
