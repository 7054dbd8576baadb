// Queues: each event step's queue (its settings and what waits in it) and the dead letters,
// which can be retried (put back with their attempts reset) or dropped. Polled while open:
// queue moves are frequent and cheap to read from SQLite.

import {getJSON, loadSteps, postJSON} from '../api.js';
import {add, badge, dateTime, empty, fill, h, preview} from '../dom.js';

export const title = 'Queues';
export const icon = 'queues';

const POLL_MS = 1500;

export function mount(root, app) {
  const queuesEl = h('div', {id: 'queue-table'});
  const deadEl = h('div', {id: 'dead-letters'});
  const waitingEl = h('div', {id: 'queue-waiting'});
  const notice = h('div', {class: 'notice', id: 'queue-notice'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'Queues'),
    h('p', {class: 'muted'}, 'One queue per event step, with retries and dead letters (as SQS queues on AWS).')),
  notice,
  h('div', {class: 'card'}, h('h3', {}, 'Queues'), queuesEl),
  h('div', {class: 'card'}, h('h3', {}, 'Dead letters'), deadEl),
  h('div', {class: 'card'}, h('h3', {}, 'Waiting and in flight'), waitingEl));

  let eventSteps = [];

  async function act(path, method, message) {
    try {
      await postJSON(path, method);
      notice.textContent = message;
    } catch (error) {
      notice.textContent = `Failed: ${error.message}`;
    }
    load().catch(() => {});
  }

  // The table counts every message (/queues/counts); the lists show the oldest page of each, and
  // say so when there are more (counting the listed ones gave at most 200, whatever the backlog).
  function render({counts, dead, waiting}) {
    const count = (step, status) => (counts[step] || {})[status] || 0;
    const total = (...statuses) => Object.values(counts).reduce(
      (sum, byStatus) => sum + statuses.reduce((n, status) => n + (byStatus[status] || 0), 0), 0);
    const more = (shown, all) => (all > shown
      ? h('p', {class: 'muted more-messages'}, `The oldest ${shown} of ${all}.`) : null);
    fill(queuesEl, eventSteps.length ? h('table', {class: 'table'},
      h('thead', {}, h('tr', {}, ['step', 'subscribes', 'type', 'retries', 'ready', 'in flight', 'dead'].map((c) => h('th', {}, c)))),
      h('tbody', {}, eventSteps.map((st) => h('tr', {dataset: {step: st.name}},
        h('td', {}, h('strong', {}, st.name)), h('td', {}, st.subscribes.map((t) => h('span', {class: 'topic-chip'}, t))),
        h('td', {}, st.queue.type), h('td', {}, String(st.queue.maxRetries)),
        h('td', {}, String(count(st.name, 'ready'))), h('td', {}, String(count(st.name, 'inflight'))),
        h('td', {}, count(st.name, 'dead') ? badge(String(count(st.name, 'dead')), 'error') : '0')))))
      : empty('No event steps.'));
    fill(deadEl, dead.length ? h('div', {}, more(dead.length, total('dead')), h('table', {class: 'table'},
      h('thead', {}, h('tr', {}, ['id', 'step', 'topic', 'attempts', 'last error', 'trace', 'created', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, dead.map((m) => h('tr', {class: 'dead-letter', dataset: {id: m.id}},
        h('td', {}, String(m.id)), h('td', {}, m.step), h('td', {}, h('code', {}, m.topic)), h('td', {}, String(m.attempts)),
        h('td', {class: 'text-error'}, preview(m.lastError || '', 120)),
        h('td', {}, h('a', {href: app.link('traces', m.traceId)}, h('code', {}, m.traceId))),
        h('td', {class: 'nowrap muted'}, dateTime(m.createdAt)),
        h('td', {class: 'nowrap'},
          h('button', {class: 'button small', onclick: () => act(`/__motia/queues/dead-letters/${m.id}/retry`, 'POST', `Dead letter ${m.id} queued again.`)}, 'Retry'),
          ' ',
          h('button', {class: 'button small danger', onclick: () => act(`/__motia/queues/dead-letters/${m.id}`, 'DELETE', `Dead letter ${m.id} dropped.`)}, 'Drop')))))))
      : empty('No dead letters.'));
    fill(waitingEl, waiting.length ? h('div', {}, more(waiting.length, total('ready', 'inflight')), h('table', {class: 'table'},
      h('thead', {}, h('tr', {}, ['id', 'step', 'topic', 'status', 'attempts', 'visible at', 'data'].map((c) => h('th', {}, c)))),
      h('tbody', {}, waiting.map((m) => h('tr', {},
        h('td', {}, String(m.id)), h('td', {}, m.step), h('td', {}, h('code', {}, m.topic)), h('td', {}, badge(m.status, 'info')),
        h('td', {}, String(m.attempts)), h('td', {class: 'nowrap muted'}, dateTime(m.visibleAt)),
        h('td', {class: 'muted'}, preview(m.data, 100)))))))
      : empty('Nothing waiting.'));
  }

  let last = null;
  async function load() {
    const [{counts}, {deadLetters}, ready, inflight] = await Promise.all([
      getJSON('/__motia/queues/counts'), getJSON('/__motia/queues/dead-letters'),
      getJSON('/__motia/queues/messages?status=ready'), getJSON('/__motia/queues/messages?status=inflight')]);
    const waiting = [...inflight.messages, ...ready.messages].sort((a, b) => a.id - b.id).slice(0, 200);
    const view = {counts, dead: deadLetters, waiting};
    const json = JSON.stringify(view);
    if (json === last) return;  // unchanged: keep the DOM (a click in progress would be lost)
    last = json;
    render(view);
  }

  loadSteps().then(({steps}) => {
    eventSteps = steps.filter((st) => st.type === 'event');
    return load();
  }).catch((error) => add(queuesEl, h('div', {class: 'error-box'}, error.message)));
  const timer = setInterval(() => load().catch(() => {}), POLL_MS);
  return {unmount: () => clearInterval(timer)};
}
