// The two halves of a trace's detail: the timeline (one bar per step run, with a tick for each
// thing it did) and the event list (step starts and ends, emits, state and stream calls, logs).

import {add, badge, duration, h, jsonBlock, preview} from '../dom.js';

function triggerText(trigger) {
  if (!trigger) return '';
  if (trigger.type === 'api') return trigger.path || 'api';
  if (trigger.type === 'event') return trigger.topic || 'event';
  return trigger.type;
}

function niceStep(total) {
  const raw = total / 4;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((v) => v >= raw) || raw;
}

export function timeline(trace) {
  const now = Date.now();
  const end = Math.max(...trace.spanList.map((sp) => sp.end ?? now), trace.start + 1);
  const total = end - trace.start;
  const pct = (t) => `${((t - trace.start) / total) * 100}%`;
  const step = niceStep(total);
  const ticks = [];
  for (let t = 0; t <= total; t += step) ticks.push(t);
  return h('div', {class: 'timeline'},
    h('div', {class: 'tl-row tl-axis'}, h('div', {class: 'tl-label'}),
      h('div', {class: 'tl-track'}, ticks.map((t) => h('span', {class: 'tl-tick', style: {left: `${(t / total) * 100}%`}}, duration(t))))),
    trace.spanList.map((sp) => {
      const finish = sp.end ?? now;
      const marks = trace.events.filter((e) => e.span === sp.id && (e.kind !== 'log' || e.level === 'error'));
      return h('div', {class: 'tl-row span-row', dataset: {step: sp.step, status: sp.status}},
        h('div', {class: 'tl-label'}, h('span', {class: `dot dot-${sp.status}`}), h('strong', {}, sp.step),
          h('span', {class: 'muted'}, triggerText(sp.trigger))),
        h('div', {class: 'tl-track'},
          ticks.map((t) => h('span', {class: 'tl-grid', style: {left: `${(t / total) * 100}%`}})),
          h('div', {class: `tl-bar bar-${sp.status}`, style: {left: pct(sp.start), width: `max(3px, ${((finish - sp.start) / total) * 100}%)`},
                   title: `${sp.step}: ${sp.status === 'running' ? 'running' : duration(sp.durationMs)}`}),
          marks.map((e) => h('span', {class: `tl-mark mark-${e.kind}`, style: {left: pct(e.time)}, title: `${e.kind} ${e.op || e.msg || ''}`})),
          h('span', {class: 'tl-duration', style: {left: `calc(${pct(finish)} + 6px)`}},
            sp.status === 'running' ? 'running…' : duration(sp.durationMs))));
    }));
}

function describe(event) {
  switch (event.kind) {
    case 'emit': return [h('span', {}, '→ '), h('code', {}, event.topic), h('span', {class: 'muted'}, ` ${preview(event.data, 100)}`)];
    case 'state': return [h('code', {}, `${event.op}(${[event.group, event.key].filter((x) => x !== undefined).join(', ')})`),
      h('span', {class: 'muted'}, ` ${preview(event.value ?? event.result ?? '', 90)}`)];
    case 'stream': return [h('code', {}, `${event.stream}.${event.op}(${[event.groupId, event.id].filter(Boolean).join(', ')})`),
      h('span', {class: 'muted'}, ` ${preview(event.data ?? event.event ?? event.ops ?? '', 90)}`)];
    case 'log': return [badge(event.level, `level-${event.level}`), ' ', h('span', {}, event.msg),
      Object.keys(event.meta || {}).length ? h('span', {class: 'muted'}, ` ${preview(event.meta, 80)}`) : null];
    case 'span': return [h('span', {class: event.error ? 'text-error' : ''}, event.text)];
    default: return [preview(event)];
  }
}

/** Consecutive identical stream calls (a token-by-token `set`) fold into one row with a count. */
function fold(events) {
  const rows = [];
  for (const event of events) {
    const last = rows[rows.length - 1];
    const key = event.kind === 'stream' ? [event.step, event.op, event.stream, event.groupId, event.id, !!event.error].join('|') : null;
    if (key && last?.key === key) { last.count += 1; last.event = event; continue; }
    rows.push({key, count: 1, first: event, event});
  }
  return rows;
}

export function eventRows(trace, kinds, opened) {
  const spans = trace.spanList.flatMap((sp) => [
    {kind: 'span', seq: sp.startSeq, time: sp.start, step: sp.step, text: `started (${triggerText(sp.trigger)})`},
    sp.end !== null && {kind: 'span', seq: sp.endSeq, time: sp.end, step: sp.step, error: sp.error,
      text: sp.error ? `failed after ${duration(sp.durationMs)}: ${sp.error.type}: ${sp.error.message}` : `finished in ${duration(sp.durationMs)}`},
  ].filter(Boolean));
  const events = [...spans, ...trace.events.filter((e) => kinds.has(e.kind))]
    .sort((a, b) => a.time - b.time || a.seq - b.seq);
  const list = h('div', {class: 'event-list'});
  for (const row of fold(events)) {
    const {event, first} = row;
    const id = String(first.seq);
    const body = h('div', {class: 'ev-detail'});
    const line = h('div', {class: ['ev-row', `ev-${event.kind}`, (event.error || event.level === 'error') && 'ev-error'],
                           dataset: {kind: event.kind, step: event.step || ''}, tabindex: 0},
      h('span', {class: 'ev-time'}, `+${duration(first.time - trace.start)}`),
      h('span', {class: 'ev-step'}, event.step || ''),
      h('span', {class: `ev-kind kind-${event.kind}`}, event.kind === 'span' ? 'step' : event.kind),
      h('span', {class: 'ev-text'}, describe(event), event.error && event.kind !== 'span' ? h('span', {class: 'text-error'}, ` ${event.error}`) : null),
      row.count > 1 ? h('span', {class: 'ev-count'}, `×${row.count}`) : null);
    const toggle = () => {
      if (opened.has(id)) opened.delete(id); else opened.add(id);
      body.replaceChildren(...(opened.has(id) ? [jsonBlock(event.kind === 'span' ? event.error || {} : event)] : []));
    };
    line.addEventListener('click', toggle);
    if (opened.has(id)) add(body, jsonBlock(event.kind === 'span' ? event.error || {} : event));
    add(list, line, body);
  }
  return list;
}
