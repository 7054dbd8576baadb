// Logs: every ctx.logger entry, live from the feed, filterable by trace id, step, minimum level
// and text. Filters live in the URL (#/logs?traceId=…&step=…&level=…), so a trace links here.

import {getJSON, loadSteps} from '../api.js';
import {add, badge, clock, empty, fill, h, jsonBlock, preview, throttle} from '../dom.js';

export const title = 'Logs';
export const icon = 'logs';

const LEVELS = {debug: 10, info: 20, warn: 30, error: 40};
const MAX_KEPT = 5000;
const MAX_SHOWN = 500;
const CORE = new Set(['level', 'time', 'msg', 'traceId', 'step', 'flows', 'seq']);

export function mount(root, app, params) {
  const traceInput = h('input', {id: 'log-trace', type: 'search', placeholder: 'Trace id'});
  const stepSelect = h('select', {id: 'log-step'}, h('option', {value: ''}, 'All steps'));
  const levelSelect = h('select', {id: 'log-level'}, Object.keys(LEVELS).map((l) => h('option', {value: l}, l === 'debug' ? 'All levels' : `${l} and above`)));
  const search = h('input', {id: 'log-search', type: 'search', placeholder: 'Search messages'});
  const follow = h('input', {type: 'checkbox', id: 'log-follow', checked: true});
  const count = h('span', {class: 'muted', id: 'log-count'});
  const list = h('div', {class: 'log-list', id: 'log-list'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'Logs'),
    h('p', {class: 'muted'}, 'Everything steps log, as it happens.')),
  h('div', {class: 'card filters'}, traceInput, stepSelect, levelSelect, search,
    h('label', {class: 'check'}, follow, 'Follow'), count),
  h('div', {class: 'card flush'}, list));

  let entries = [];
  let lastSeq = 0;
  const opened = new Set();

  function setFilters(query) {
    traceInput.value = query.get('traceId') || '';
    levelSelect.value = query.get('level') || 'debug';
    const step = query.get('step') || '';
    if (step && ![...stepSelect.options].some((o) => o.value === step)) add(stepSelect, h('option', {value: step}, step));
    stepSelect.value = step;
  }

  function filtersToUrl() {
    const q = new URLSearchParams(Object.entries({traceId: traceInput.value.trim(), step: stepSelect.value,
      level: levelSelect.value === 'debug' ? '' : levelSelect.value}).filter(([, v]) => v)).toString();
    history.replaceState(null, '', `#/logs${q ? `?${q}` : ''}`);
  }

  function matches(entry) {
    const trace = traceInput.value.trim();
    const text = search.value.trim().toLowerCase();
    return (!trace || entry.traceId === trace)
      && (!stepSelect.value || entry.step === stepSelect.value)
      && (LEVELS[entry.level] ?? 0) >= LEVELS[levelSelect.value]
      && (!text || `${entry.msg} ${JSON.stringify(entry)}`.toLowerCase().includes(text));
  }

  function row(entry) {
    const meta = Object.fromEntries(Object.entries(entry).filter(([k]) => !CORE.has(k)));
    const detail = h('div', {class: 'log-detail'});
    const show = () => detail.replaceChildren(...(opened.has(entry.seq) ? [jsonBlock(entry)] : []));
    const line = h('div', {class: ['log-row', `level-${entry.level}`], dataset: {level: entry.level, step: entry.step || '', trace: entry.traceId || ''}},
      h('span', {class: 'log-time'}, clock(entry.time)),
      badge(entry.level, `level-${entry.level}`),
      h('span', {class: 'log-step'}, entry.step || '—'),
      entry.traceId ? h('a', {class: 'log-trace', href: app.link('traces', entry.traceId), title: 'Open the trace',
                             onclick: (e) => e.stopPropagation()}, entry.traceId) : h('span', {class: 'log-trace muted'}, '—'),
      h('span', {class: 'log-msg'}, entry.msg, Object.keys(meta).length ? h('span', {class: 'muted'}, ` ${preview(meta, 140)}`) : null));
    line.addEventListener('click', () => {
      if (opened.has(entry.seq)) opened.delete(entry.seq); else opened.add(entry.seq);
      show();
    });
    show();
    return [line, detail];
  }

  const render = throttle(() => {
    const shown = entries.filter(matches);
    const tail = shown.slice(-MAX_SHOWN);
    count.textContent = `${shown.length} of ${entries.length} entries${shown.length > MAX_SHOWN ? ` (last ${MAX_SHOWN} shown)` : ''}`;
    fill(list, ...(tail.length ? tail.flatMap(row) : [empty(entries.length ? 'No entry matches these filters.' : 'No logs yet.')]));
    if (follow.checked) list.scrollTop = list.scrollHeight;
  }, 100);

  function addEntry(entry) {
    if (entry.seq <= lastSeq) return;  // already in the initial fetch
    lastSeq = entry.seq;
    entries.push(entry);
    if (entries.length > MAX_KEPT) entries = entries.slice(-MAX_KEPT);
    render();
  }

  async function load() {
    const {logs} = await getJSON(`/__motia/logs?limit=${MAX_KEPT}`);
    // Keep what was pushed after this snapshot was read (loads may overlap with pushes).
    const last = logs.length ? logs[logs.length - 1].seq : 0;
    entries = [...logs, ...entries.filter((e) => e.seq > last)].slice(-MAX_KEPT);
    lastSeq = entries.length ? entries[entries.length - 1].seq : 0;
    render();
  }

  setFilters(params.query);
  for (const input of [traceInput, stepSelect, levelSelect]) input.addEventListener('input', () => { filtersToUrl(); render(); });
  search.addEventListener('input', render);
  loadSteps().then(({steps}) => {
    const current = stepSelect.value;
    for (const step of steps) if (step.type !== 'noop' && step.name !== current) add(stepSelect, h('option', {value: step.name}, step.name));
  }).catch(() => {});
  const offLog = app.feed.on('log', addEntry);
  // A reconnect may follow a server restart, which restarts the sequence: start over.
  const offOpen = app.feed.on('open', () => { entries = []; lastSeq = 0; load().catch(() => {}); });
  load().catch((error) => add(list, h('div', {class: 'error-box'}, error.message)));

  return {
    update(next) { setFilters(next.query); render(); },
    unmount() { offLog(); offOpen(); },
  };
}
