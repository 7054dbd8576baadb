// Tiny DOM helpers and formatters shared by every view (no framework: the page is small and
// each view owns its element tree, re-rendering the parts that change).

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h('div', {class: 'x', onclick: fn}, 'text', otherNode) → an HTML element. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Append children as h() does: arrays are flattened, null/undefined/false are skipped
 *  (Element.append would stringify them: an array of links becomes their hrefs). */
export function add(el, ...children) {
  return build(el, {}, children);
}

/** Replace an element's children (same rules as add). */
export function fill(el, ...children) {
  return add(clear(el), ...children);
}

export function pad(n, width = 2) {
  return String(n).padStart(width, '0');
}

/** 14:03:22.123 (local time): logs and traces are read at millisecond resolution. */
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function dateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '…';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60000);
  return `${m} min ${Math.round((ms % 60000) / 1000)} s`;
}

/** "in 3 h 12 min" / "12 s ago": for cron times. */
export function relative(ms, now = Date.now()) {
  const delta = ms - now;
  const abs = Math.abs(delta);
  const parts = [];
  const d = Math.floor(abs / 86400000), hr = Math.floor(abs / 3600000) % 24, mi = Math.floor(abs / 60000) % 60;
  const se = Math.floor(abs / 1000) % 60;
  if (d) parts.push(`${d} d`);
  if (hr) parts.push(`${hr} h`);
  if (mi && !d) parts.push(`${mi} min`);
  if (!d && !hr) parts.push(`${se} s`);
  const text = parts.slice(0, 2).join(' ');
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

export function pretty(value) {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

/** A <pre> with JSON syntax colouring (keys, strings, numbers, literals). */
export function jsonBlock(value, attrs = {}) {
  const text = typeof value === 'string' ? value : pretty(value);
  const pre = h('pre', {...attrs, class: ['json', attrs.class]});
  const token = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const m of text.matchAll(token)) {
    if (m.index > last) pre.append(text.slice(last, m.index));
    if (m[1] && m[2]) pre.append(h('span', {class: 'j-key'}, m[1]), m[2]);
    else if (m[1]) pre.append(h('span', {class: 'j-str'}, m[1]));
    else if (m[3]) pre.append(h('span', {class: 'j-lit'}, m[3]));
    else pre.append(h('span', {class: 'j-num'}, m[4]));
    last = m.index + m[0].length;
  }
  pre.append(text.slice(last));
  return pre;
}

/** A one-line preview of a value, cut at `max` characters. */
export function preview(value, max = 120) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined) return '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function badge(text, kind = '', attrs = {}) {
  return h('span', {...attrs, class: ['badge', kind && `badge-${kind}`, attrs.class]}, text);
}

export function empty(text) {
  return h('div', {class: 'empty'}, text);
}

/** Run `fn` at most once per `ms`, trailing call included (for bursts of live updates). */
export function throttle(fn, ms) {
  let timer = null;
  let pending = false;
  return (...args) => {
    if (timer) { pending = true; return; }
    fn(...args);
    timer = setTimeout(function tick() {
      timer = null;
      if (pending) { pending = false; fn(...args); timer = setTimeout(tick, ms); }
    }, ms);
  };
}

/** Briefly highlight an element that was just updated by a live change. */
export function flash(el) {
  el.classList.remove('flash');
  void el.offsetWidth; // restart the CSS animation
  el.classList.add('flash');
}

/** Progress in percent from an item's `progress`: 0–100, or a 0–1 fraction when fractional. */
export function progressPercent(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const pct = !Number.isInteger(value) && value > 0 && value < 1 ? value * 100 : value;
  return Math.max(0, Math.min(100, pct));
}

export function progressBar(value) {
  const pct = progressPercent(value);
  if (pct === null) return null;
  return h('div', {class: 'progress', role: 'progressbar', 'aria-valuenow': Math.round(pct), 'aria-valuemin': 0,
                   'aria-valuemax': 100},
    h('div', {class: ['progress-fill', pct >= 100 && 'done'], style: {width: `${pct}%`}}),
    h('span', {class: 'progress-label'}, `${Math.round(pct)}%`));
}
