// Endpoints: every API step with its schemas, a request form (path params, query, JSON body
// prefilled from the body schema, headers) and Send. When the response body is a stream item
// (it carries `__motia`), the item and its whole group are then watched live over the stream
// WebSocket, exactly as an app's own client would (see live.js).

import {flowsOf, loadSteps} from '../api.js';
import {add, badge, clear, duration, empty, fill, h, jsonBlock} from '../dom.js';
import {exampleFromSchema} from '../schema.js';
import {methodBadge} from '../steps.js';
import {findStreamRef, LiveItem} from './live.js';

export const title = 'Endpoints';
export const icon = 'endpoints';

const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

function keyValueRows(initial, placeholder) {
  const rows = h('div', {class: 'kv-rows'});
  const addRow = (key = '', value = '') => {
    const row = h('div', {class: 'kv-row'},
      h('input', {class: 'kv-key', placeholder: placeholder[0], value: key}),
      h('input', {class: 'kv-value', placeholder: placeholder[1], value}),
      h('button', {class: 'icon-button', title: 'Remove', onclick: () => { row.remove(); rows.dispatchEvent(new Event('input')); }}, '×'));
    add(rows, row);
  };
  for (const [k, v] of initial) addRow(k, v);
  const values = () => [...rows.querySelectorAll('.kv-row')]
    .map((row) => [row.querySelector('.kv-key').value.trim(), row.querySelector('.kv-value').value])
    .filter(([k]) => k);
  return {el: h('div', {}, rows, h('button', {class: 'link-button', onclick: () => addRow()}, '+ Add')), values};
}

/** The request form of one API step; returns its element and a `request()` builder. */
function requestForm(step) {
  const pathInputs = new Map(step.pathParams.map((name) => [name, h('input', {dataset: {param: name}, placeholder: name})]));
  const query = keyValueRows(step.queryParams.map((q) => [q.name, '']), ['name', 'value']);
  const headers = keyValueRows([['content-type', 'application/json']], ['header', 'value']);
  const example = step.bodySchema ? exampleFromSchema(step.bodySchema) : {};
  const body = h('textarea', {id: 'body-editor', class: 'code-editor', spellcheck: 'false', rows: 10},
    JSON.stringify(example, null, 2));
  const bodyError = h('div', {class: 'field-error'});
  const preview = h('code', {id: 'url-preview', class: 'url-preview'});

  const url = () => {
    let path = step.path;
    for (const [name, input] of pathInputs) path = path.replace(`:${name}`, encodeURIComponent(input.value || `:${name}`));
    const q = new URLSearchParams(query.values()).toString();
    return `${path}${q ? `?${q}` : ''}`;
  };
  const refresh = () => { preview.textContent = `${step.method} ${location.origin}${url()}`; };

  const panes = {
    Params: h('div', {class: 'pane'},
      step.pathParams.length ? h('div', {}, h('h4', {}, 'Path parameters'),
        h('div', {class: 'param-grid'}, [...pathInputs].map(([name, input]) => h('label', {}, h('span', {}, `:${name}`), input)))) : null,
      h('h4', {}, 'Query parameters'),
      step.queryParams.some((q) => q.description) && h('ul', {class: 'hints'},
        step.queryParams.map((q) => h('li', {}, h('code', {}, q.name), q.description ? ` — ${q.description}` : ''))),
      query.el),
    Body: h('div', {class: 'pane'},
      NO_BODY.has(step.method) ? h('p', {class: 'muted'}, `${step.method} requests are sent without a body.`) : [body, bodyError,
        h('button', {class: 'link-button', onclick: () => { body.value = JSON.stringify(example, null, 2); }}, 'Reset to the schema example')]),
    Headers: h('div', {class: 'pane'}, headers.el),
  };
  const tabs = h('div', {class: 'tabs small', role: 'tablist'});
  const paneBox = h('div', {class: 'panes'});
  const showPane = (name) => {
    for (const tab of tabs.children) tab.setAttribute('aria-selected', String(tab.dataset.pane === name));
    fill(paneBox, panes[name]);
  };
  for (const name of Object.keys(panes)) add(tabs, h('button', {class: 'tab', role: 'tab', dataset: {pane: name}, onclick: () => showPane(name)}, name));
  showPane(step.pathParams.length || NO_BODY.has(step.method) ? 'Params' : 'Body');

  const el = h('div', {}, tabs, paneBox, h('div', {class: 'url-row'}, preview));
  el.addEventListener('input', refresh);
  refresh();

  function request() {
    const init = {method: step.method, headers: Object.fromEntries(headers.values())};
    bodyError.textContent = '';
    if (!NO_BODY.has(step.method) && body.value.trim()) {
      try { JSON.parse(body.value); } catch (error) { bodyError.textContent = `Not valid JSON: ${error.message}`; return null; }
      init.body = body.value;
    }
    return {url: url(), init};
  }
  return {el, request};
}

function responseView(result) {
  const ok = result.status < 400;
  return h('div', {id: 'response', class: 'card response'},
    h('div', {class: 'response-head'},
      h('h3', {}, 'Response'),
      badge(String(result.status), ok ? 'ok' : 'error', {id: 'response-status'}),
      h('span', {class: 'muted', id: 'response-time'}, duration(result.ms)),
      result.traceId && h('a', {class: 'button small', id: 'open-trace', href: `#/traces/${encodeURIComponent(result.traceId)}`},
        'Trace ', h('code', {}, result.traceId))),
    typeof result.body === 'string' ? h('pre', {class: 'json', id: 'response-body'}, result.body || '(empty body)')
      : jsonBlock(result.body, {id: 'response-body'}));
}

function schemaCards(step) {
  const blocks = [];
  if (step.bodySchema) blocks.push(h('details', {}, h('summary', {}, 'Body schema'), jsonBlock(step.bodySchema)));
  for (const [status, schema] of Object.entries(step.responseSchema || {})) {
    blocks.push(h('details', {}, h('summary', {}, `Response ${status}`), jsonBlock(schema)));
  }
  return blocks.length ? h('div', {class: 'card schemas'}, h('h3', {}, 'Schemas'), blocks) : null;
}

export function mount(root, app, params) {
  const list = h('nav', {class: 'card list endpoint-list', id: 'endpoint-list'});
  const main = h('section', {class: 'endpoint-main'});
  add(root, h('header', {class: 'view-header'}, h('h1', {}, 'Endpoints'),
    h('p', {class: 'muted'}, 'Call an API step. A response that is a stream item keeps updating below it.')),
  h('div', {class: 'split'}, list, main));

  let steps = [];
  let live = null;
  let shown = null;

  function select(name) {
    const step = steps.find((s) => s.name === name) || steps[0];
    if (step && step === shown) return;
    shown = step;
    live?.close();
    live = null;
    for (const item of list.querySelectorAll('.list-item')) item.classList.toggle('active', item.dataset.step === step?.name);
    clear(main);
    if (!step) { add(main, empty('No API steps in this project.')); return; }
    const form = requestForm(step);
    const send = h('button', {class: 'button primary', id: 'send'}, 'Send');
    const results = h('div', {class: 'results'});
    add(main, 
      h('div', {class: 'card'},
        h('div', {class: 'endpoint-title'}, methodBadge(step.method), h('code', {class: 'endpoint-path'}, step.path),
          h('span', {class: 'muted'}, step.name)),
        step.description && h('p', {class: 'muted'}, step.description),
        form.el, h('div', {class: 'actions'}, send)),
      results, schemaCards(step));

    send.addEventListener('click', async () => {
      const request = form.request();
      if (!request) return;
      live?.close();
      live = null;
      send.disabled = true;
      send.textContent = 'Sending…';
      const started = performance.now();
      try {
        const response = await fetch(request.url, request.init);
        const text = await response.text();
        let body = text;
        try { body = text ? JSON.parse(text) : ''; } catch { /* not JSON: shown as text */ }
        const result = {status: response.status, ms: performance.now() - started, body, traceId: response.headers.get('x-trace-id')};
        fill(results, responseView(result));
        const ref = findStreamRef(body);
        if (ref) {
          live = new LiveItem(app.streams(), ref, body);
          add(results, live.el);
        }
      } catch (error) {
        fill(results, h('div', {class: 'error-box', id: 'response'}, `Request failed: ${error.message}`));
      } finally {
        send.disabled = false;
        send.textContent = 'Send';
      }
    });
  }

  loadSteps().then(({steps: all}) => {
    steps = all.filter((s) => s.type === 'api');
    for (const [flow, members] of flowsOf(steps)) {
      add(list, h('h3', {}, flow), members.map((step) => h('a', {
        class: 'list-item', href: app.link('endpoints', step.name), dataset: {step: step.name}},
      methodBadge(step.method), h('span', {class: 'list-path'}, step.path))));
    }
    select(params.arg);
  }).catch((error) => add(main, h('div', {class: 'error-box'}, `Could not load steps: ${error.message}`)));

  return {
    update: (next) => select(next.arg),
    unmount: () => live?.close(),
  };
}
