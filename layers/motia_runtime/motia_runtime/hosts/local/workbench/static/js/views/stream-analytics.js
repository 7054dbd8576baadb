// The Streams view's live analytics card: frames pushed per second as a small chart of the last
// minute, delivery lag p50/p99, clients, subscriptions and refused joins, per stream and for its
// busiest groups. Read from /__motia/streams/analytics once a second: the server's numbers over
// its last few seconds, added over every worker when motia dev runs several on Redis.

import {getJSON} from '../api.js';
import {empty, fill, h, s} from '../dom.js';

const EVERY_MS = 1000;
const POINTS = 60;
const W = 360;
const H = 64;

const ms = (v) => (v === null || v === undefined ? '–' : `${v} ms`);

function figure(label, value, id) {
  return h('div', {class: 'stat'}, h('span', {class: 'stat-value', id}, String(value)), h('span', {class: 'stat-label'}, label));
}

/** An SVG line of ``points`` (newest last) scaled to its own maximum. */
function chart(points) {
  const top = Math.max(1, ...points);
  const step = W / (POINTS - 1);
  const offset = POINTS - points.length;
  const xy = points.map((v, i) => `${((offset + i) * step).toFixed(1)},${(H - 2 - (v / top) * (H - 6)).toFixed(1)}`);
  return s('svg', {class: 'spark', id: 'stream-rate-chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H,
    role: 'img', 'aria-label': `frames per second over the last minute, peak ${top}`, dataset: {points: points.length, peak: top}},
  s('line', {x1: 0, y1: H - 2, x2: W, y2: H - 2, class: 'spark-axis'}),
  xy.length > 1 ? s('polyline', {points: xy.join(' '), class: 'spark-line'}) : null,
  s('text', {x: 4, y: 12, class: 'spark-label'}, `peak ${top}/s`));
}

/** Mounts the card into ``box`` for the stream ``name()`` names; returns its stop function. */
export function liveAnalytics(box, name) {
  const history = new Map();  // stream name → frames/s samples, newest last

  function render(body) {
    const st = body.streams.find((x) => x.name === name());
    if (!st) { fill(box, empty('No analytics for this stream.')); return; }
    const points = history.get(st.name) || [];
    fill(box,
      h('div', {class: 'stats'},
        figure('frames / s', st.framesPerSecond, 'live-fps'),
        figure('lag p50', ms(st.lagP50Ms), 'live-p50'),
        figure('lag p99', ms(st.lagP99Ms), 'live-p99'),
        figure('clients', st.clients, 'live-clients'),
        figure('subscriptions', st.subscriptions, 'live-subscriptions'),
        figure('refused joins', st.refusedJoinsTotal, 'live-refused')),
      chart(points),
      h('p', {class: 'muted small'}, `last ${body.windowSeconds}s · ${body.workers} worker${body.workers === 1 ? '' : 's'}`),
      st.groups.length ? h('table', {class: 'table', id: 'live-groups'},
        h('thead', {}, h('tr', {}, ['group', 'clients', 'subs', 'frames/s', 'p50', 'p99', 'refused'].map((t) => h('th', {}, t)))),
        h('tbody', {}, st.groups.map((g) => h('tr', {dataset: {group: g.group}},
          h('td', {}, h('code', {}, g.group)), h('td', {}, g.clients), h('td', {}, g.subscriptions),
          h('td', {}, g.framesPerSecond), h('td', {}, ms(g.lagP50Ms)), h('td', {}, ms(g.lagP99Ms)),
          h('td', {}, g.refusedJoinsTotal))))) : empty('No group has had clients or frames yet.'));
  }

  async function poll() {
    const body = await getJSON('/__motia/streams/analytics');
    for (const st of body.streams) {
      const points = history.get(st.name) || [];
      points.push(st.framesPerSecond);
      if (points.length > POINTS) points.shift();
      history.set(st.name, points);
    }
    render(body);
  }

  poll().catch((error) => fill(box, h('div', {class: 'error-box'}, error.message)));
  const timer = setInterval(() => poll().catch(() => {}), EVERY_MS);
  return () => clearInterval(timer);
}
