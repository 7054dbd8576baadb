// Cron: each cron step with its schedule and next run (with a live countdown), and Run now,
// which starts a run at once as its own trace.

import {getJSON, loadSteps, postJSON} from '../api.js';
import {add, dateTime, empty, fill, h, relative} from '../dom.js';

export const title = 'Cron';
export const icon = 'cron';

export function mount(root, app) {
  const table = h('div', {id: 'cron-table'});
  const notice = h('div', {class: 'notice', id: 'cron-notice'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'Cron'),
    h('p', {class: 'muted'}, 'Scheduled steps and when they run next (local time).')), notice, h('div', {class: 'card'}, table));

  let jobs = [];
  let steps = new Map();

  async function runNow(name) {
    try {
      const {traceId} = await postJSON(`/__motia/cron/${encodeURIComponent(name)}/run`);
      fill(notice, `${name} started: `, h('a', {href: app.link('traces', traceId)}, `trace ${traceId}`));
    } catch (error) {
      notice.textContent = `Could not run ${name}: ${error.message}`;
    }
  }

  function render() {
    fill(table, jobs.length ? h('table', {class: 'table'},
      h('thead', {}, h('tr', {}, ['step', 'schedule', 'description', 'next run', '', ''].map((c) => h('th', {}, c)))),
      h('tbody', {}, jobs.map((job) => {
        const next = job.nextRun ? Date.parse(job.nextRun) : null;
        return h('tr', {class: 'cron-job', dataset: {step: job.name}},
          h('td', {}, h('strong', {}, job.name)), h('td', {}, h('code', {}, job.cron)),
          h('td', {class: 'muted'}, steps.get(job.name)?.description || ''),
          h('td', {class: 'nowrap'}, next ? dateTime(next) : 'not scheduled yet'),
          h('td', {class: 'nowrap muted cron-countdown'}, next ? relative(next) : ''),
          h('td', {}, h('button', {class: 'button small', onclick: () => runNow(job.name)}, 'Run now')));
      }))) : empty('No cron steps in this project.'));
  }

  async function load() {
    ({jobs} = await getJSON('/__motia/cron'));
    render();
  }

  loadSteps().then(({steps: all}) => { steps = new Map(all.map((st) => [st.name, st])); return load(); })
    .catch((error) => add(table, h('div', {class: 'error-box'}, error.message)));
  // The countdown ticks every second; the schedule is re-read when a run is due.
  const timer = setInterval(() => {
    if (jobs.some((job) => job.nextRun && Date.parse(job.nextRun) <= Date.now())) { load().catch(() => {}); return; }
    for (const row of table.querySelectorAll('.cron-job')) {
      const job = jobs.find((j) => j.name === row.dataset.step);
      if (job?.nextRun) row.querySelector('.cron-countdown').textContent = relative(Date.parse(job.nextRun));
    }
  }, 1000);
  return {unmount: () => clearInterval(timer)};
}
