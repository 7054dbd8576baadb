// The Workbench shell: navigation, hash routing (#/<view>/<arg>?<query>) and the services the
// views share (the live feed, one stream-protocol client).
//
// A view module exports `title`, `icon` and `mount(root, app, params)`, which renders into
// `root` and returns `{update?(params), unmount?()}`: `update` handles a new arg/query of the
// same view without a remount, `unmount` stops its timers and subscriptions.

import {resetSteps} from './api.js';
import {add, clear, h} from './dom.js';
import {Feed} from './feed.js';
import {icon} from './icons.js';
import {StreamClient} from './streamclient.js';
import * as cron from './views/cron.js';
import * as endpoints from './views/endpoints.js';
import * as flows from './views/flows.js';
import * as logs from './views/logs.js';
import * as queues from './views/queues.js';
import * as state from './views/state.js';
import * as streams from './views/streams.js';
import * as traces from './views/traces.js';

const VIEWS = {flows, endpoints, traces, logs, streams, state, queues, cron};

let streamClient = null;

const app = {
  feed: new Feed(),
  /** The shared stream-protocol client (ws://<host>/), opened on first use. */
  streams() {
    streamClient ??= new StreamClient();
    return streamClient;
  },
  navigate(hash) {
    if (location.hash === hash) route(); else location.hash = hash;
  },
  link(view, arg, query) {
    let hash = `#/${view}`;
    if (arg !== undefined && arg !== null) hash += `/${encodeURIComponent(arg)}`;
    const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v)).toString() : '';
    return q ? `${hash}?${q}` : hash;
  },
};

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const [name, ...rest] = path.split('/');
  return {
    view: VIEWS[name] ? name : 'flows',
    arg: rest.length && rest[0] !== '' ? decodeURIComponent(rest.join('/')) : null,
    query: new URLSearchParams(query),
  };
}

let current = {name: null, handle: null};

function route() {
  const params = parseHash();
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('active', link.dataset.view === params.view);
    if (link.dataset.view === params.view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (current.name === params.view && current.handle?.update) {
    current.handle.update(params);
    return;
  }
  current.handle?.unmount?.();
  const root = clear(document.getElementById('view'));
  root.dataset.view = params.view;
  document.title = `${VIEWS[params.view].title} · Motia Workbench`;
  current = {name: params.view, handle: null};
  try {
    current.handle = VIEWS[params.view].mount(root, app, params) || null;
  } catch (error) {
    console.error(error);
    add(root, h('div', {class: 'error-box'}, `This view failed to render: ${error.message}`));
  }
}

function renderNav() {
  const nav = document.getElementById('nav');
  for (const [name, view] of Object.entries(VIEWS)) {
    add(nav, h('a', {href: `#/${name}`, dataset: {view: name}, id: `nav-${name}`}, icon(view.icon), h('span', {}, view.title)));
  }
}

function renderLive() {
  const live = document.getElementById('live');
  const text = live.querySelector('.live-text');
  let dropped = false;
  const show = (up) => {
    live.classList.toggle('up', up);
    text.textContent = up ? 'Live' : 'Reconnecting…';
  };
  app.feed.on('close', () => { dropped = true; show(false); });
  app.feed.on('open', () => {
    show(true);
    if (!dropped) return;
    // Back after a drop: usually motia dev restarted after a file change, so steps may differ.
    dropped = false;
    resetSteps();
    streamClient?.resetVisibility();
    remount();
  });
}

// While a step or stream fails to load, motia dev serves only the error (503s) and its feed sends
// one 'project-error' frame: shown above every view until the fixed server's feed opens.
function renderProjectError() {
  const banner = h('div', {id: 'project-error', class: 'project-error', role: 'alert', hidden: true});
  document.querySelector('.app').before(banner);
  app.feed.on('project-error', (error) => {
    const where = [error.file, error.line].filter((part) => part !== null && part !== undefined).join(':');
    clear(banner);
    add(banner,
      h('strong', {}, 'The project failed to load'),
      where ? h('code', {class: 'project-error-where'}, where) : null,
      error.field ? h('span', {}, ` field ${error.field}`) : null,
      h('pre', {class: 'project-error-message'}, error.error),
      h('div', {class: 'project-error-hint'}, error.hint || 'Fix the file and save: the server restarts by itself.'));
    banner.hidden = false;
  });
  app.feed.on('open', () => { banner.hidden = true; });
}

function remount() {
  current.handle?.unmount?.();
  current = {name: null, handle: null};
  route();
}

renderNav();
renderLive();
renderProjectError();
window.addEventListener('hashchange', route);
route();
