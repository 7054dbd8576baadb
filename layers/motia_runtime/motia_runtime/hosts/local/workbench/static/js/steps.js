// How steps are shown across views: type and method badges, one-line summaries.
import {badge, h} from './dom.js';

export const TYPE_LABEL = {api: 'API', event: 'Event', cron: 'Cron', noop: 'Noop', stream: 'Stream', state: 'State'};

export function typeBadge(type) {
  return badge(TYPE_LABEL[type] || type, `type-${type}`);
}

export function methodBadge(method) {
  return badge(method, `method-${method.toLowerCase()}`, {class: 'method'});
}

/** The line under a step's name: its route, schedule or what it listens to. */
export function stepSummary(step) {
  switch (step.type) {
    case 'api': return `${step.method} ${step.path}`;
    case 'cron': return step.cron;
    case 'event': return `on ${step.subscribes.join(', ')}`;
    case 'stream': return `on ${step.source.name} ${step.source.events.join('/')}`;
    case 'state': return `on state ${step.source.name}${step.source.key ? '/' + step.source.key : ''}`;
    default: return step.description || (step.virtualSubscribes.length ? `on ${step.virtualSubscribes.join(', ')}` : 'manual step');
  }
}

/** A definition list of a step's wiring, used by the flow details panel. */
export function stepFacts(step, app) {
  const rows = [
    ['Type', typeBadge(step.type)],
    step.type === 'api' && ['Route', h('span', {}, methodBadge(step.method), ' ', h('code', {}, step.path))],
    step.type === 'cron' && ['Schedule', h('code', {}, step.cron)],
    step.source && ['Trigger', h('span', {}, `${step.source.kind} `, h('code', {}, sourceText(step.source)),
                                 ` on ${step.source.events.join(', ')}`)],
    step.condition && ['Condition', h('code', {}, step.condition)],
    step.subscribes?.length && ['Subscribes', topics(step.subscribes)],
    step.virtualSubscribes?.length && ['Virtual subscribes', topics(step.virtualSubscribes, true)],
    step.emits.length && ['Emits', topics(step.emits)],
    step.virtualEmits?.length && ['Virtual emits', topics(step.virtualEmits, true)],
    step.queue && ['Queue', `${step.queue.type}, ${step.queue.maxRetries} retries`],
    ['Flows', step.flows.join(', ') || '—'],
    ['File', h('code', {class: 'path'}, step.file)],
  ].filter(Boolean);
  return h('div', {},
    h('dl', {class: 'facts'}, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('div', {class: 'actions'},
      step.type === 'api' && h('a', {class: 'button primary', href: app.link('endpoints', step.name)}, 'Open in Endpoints'),
      step.type !== 'noop' && h('a', {class: 'button', href: app.link('traces', null, {step: step.name})}, 'Traces'),
      step.type !== 'noop' && h('a', {class: 'button', href: app.link('logs', null, {step: step.name})}, 'Logs')));
}

/** What a stream or state trigger watches: ``petCreation/<group>/<id>`` or ``pets/<key>``. */
export function sourceText(source) {
  const parts = source.kind === 'stream' ? [source.name, source.groupId, source.itemId] : [source.name, source.key];
  return parts.filter(Boolean).join('/');
}

function topics(list, virtual = false) {
  return h('span', {class: 'topic-list'}, list.map((t) => h('span', {class: ['topic-chip', virtual && 'virtual']}, t)));
}
