// Flows: one diagram per flow. Steps are boxes (API green, event blue, cron orange, noop grey),
// topics are pills between them: step → topic for emits, topic → step for subscribes; virtual
// emits and subscribes are dotted. Drawing topics as nodes keeps fan-out readable and lets the
// layered layout (layout.js) keep every label clear of every box.

import {flowsOf, loadSteps} from '../api.js';
import {add, clear, empty, fill, h, s} from '../dom.js';
import {edgePath, layoutComponents} from '../layout.js';
import {sourceText, stepFacts, stepSummary, TYPE_LABEL} from '../steps.js';

export const title = 'Flows';
export const icon = 'flows';

const STEP_H = 54;
const TOPIC_H = 28;
const FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif';
const measurer = document.createElement('canvas').getContext('2d');

function textWidth(text, weight = 400, size = 13) {
  measurer.font = `${weight} ${FONT.replace('13px', `${size}px`)}`;
  return measurer.measureText(text).width;
}

function fit(text, max, weight, size) {
  if (textWidth(text, weight, size) <= max) return text;
  let cut = text;
  while (cut.length > 1 && textWidth(`${cut}…`, weight, size) > max) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Nodes and edges of one flow: its steps, and every topic they touch. */
export function flowGraph(steps) {
  const nodes = [];
  const edges = [];
  const topics = new Set();
  const topic = (name) => {
    if (!topics.has(name)) {
      topics.add(name);
      nodes.push({id: `topic:${name}`, kind: 'topic', name, width: Math.ceil(textWidth(name, 500, 12)) + 28, height: TOPIC_H});
    }
    return `topic:${name}`;
  };
  for (const step of steps) {
    const label = fit(step.name, 236, 600, 13);
    const sub = fit(stepSummary(step), 236, 400, 11.5);
    const width = Math.max(170, Math.ceil(Math.max(textWidth(label, 600, 13) + 52, textWidth(sub, 400, 11.5))) + 30);
    nodes.push({id: `step:${step.name}`, kind: 'step', step, label, sub, width, height: STEP_H});
  }
  const sources = new Set();
  const source = (src) => {
    // A stream or a state group feeding trigger steps: drawn like a topic, marked by its kind.
    const name = `${src.kind} ${sourceText(src)}`;
    if (!sources.has(name)) {
      sources.add(name);
      nodes.push({id: `source:${name}`, kind: 'source', name, width: Math.ceil(textWidth(name, 500, 12)) + 28, height: TOPIC_H});
    }
    return `source:${name}`;
  };
  for (const step of steps) {
    const id = `step:${step.name}`;
    if (step.source) edges.push({from: source(step.source), to: id, virtual: false, label: step.condition ? 'if ' + step.condition : undefined});
    for (const e of step.emitDetails) edges.push({from: id, to: topic(e.topic), virtual: e.virtual, label: e.label, conditional: e.conditional});
    for (const t of step.subscribes || []) edges.push({from: topic(t), to: id, virtual: false});
    for (const t of step.virtualSubscribes || []) edges.push({from: topic(t), to: id, virtual: true});
  }
  return {nodes, edges};
}

const MIN_SCALE = 0.75;

/** Fit the diagram to its container's width, but never shrink text below 75%: scroll instead. */
function fitToWidth(svg, container, layout) {
  const scale = Math.max(MIN_SCALE, Math.min(1, (container.clientWidth - 4) / layout.width));
  svg.setAttribute('width', String(Math.round(layout.width * scale)));
  svg.setAttribute('height', String(Math.round(layout.height * scale)));
  svg.dataset.scale = scale.toFixed(3);
}

function renderDiagram(graph, onSelect) {
  const layout = layoutComponents(graph.nodes, graph.edges, {layerGap: 44, nodeGap: 26, maxRowWidth: 1000});
  const svg = s('svg', {class: 'flow-svg', viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width,
                        height: layout.height, role: 'img', 'aria-label': 'Flow diagram'},
    s('defs', {},
      s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'},
        s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head'}))));
  const edgeLayer = s('g', {class: 'edges'});
  const nodeLayer = s('g', {class: 'nodes'});
  add(svg, edgeLayer, nodeLayer);
  for (const edge of layout.edges) {
    const path = s('path', {d: edgePath(edge.points), class: ['edge', edge.virtual && 'virtual'],
                            'marker-end': 'url(#arrow)',
                            dataset: {from: edge.from, to: edge.to}});
    add(edgeLayer, path);
    if (edge.label) {
      const [a, b] = edge.points;
      add(edgeLayer, s('text', {class: 'edge-label', x: (a.x + b.x) / 2 + 6, y: (a.y + b.y) / 2 + 4}, edge.label,
        s('title', {}, edge.conditional ? `conditional: ${edge.label}` : edge.label)));
    }
  }
  for (const node of graph.nodes) {
    const box = layout.nodes.get(node.id);
    const g = s('g', {class: ['flow-node', node.kind === 'step' ? `node-${node.step.type}` : `node-${node.kind}`],
                      transform: `translate(${box.x},${box.y})`, tabindex: 0,
                      dataset: {nodeId: node.id, kind: node.kind, ...(node.kind === 'step' ? {step: node.step.name} : {topic: node.name})}});
    if (node.kind === 'topic' || node.kind === 'source') {
      add(g, s('rect', {width: box.width, height: box.height, rx: node.kind === 'topic' ? box.height / 2 : 4, class: 'node-box'}),
        s('text', {x: box.width / 2, y: box.height / 2 + 4, 'text-anchor': 'middle', class: 'topic-text'}, node.name),
        s('title', {}, node.kind === 'topic' ? `topic ${node.name}` : `changes of ${node.name}`));
    } else {
      const type = node.step.type;
      add(g, s('rect', {width: box.width, height: box.height, rx: 8, class: 'node-box'}),
        s('rect', {width: 5, height: box.height - 2, x: 1, y: 1, rx: 3, class: 'node-accent'}),
        s('text', {x: 16, y: 22, class: 'node-title'}, node.label),
        s('text', {x: box.width - 12, y: 21, 'text-anchor': 'end', class: 'node-type'}, TYPE_LABEL[type].toUpperCase()),
        s('text', {x: 16, y: 41, class: 'node-sub'}, node.sub),
        s('title', {}, `${node.step.name}\n${node.step.description || ''}`));
      g.addEventListener('click', () => onSelect(node.step, g));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') onSelect(node.step, g); });
    }
    g.addEventListener('mouseenter', () => highlight(svg, node.id, true));
    g.addEventListener('mouseleave', () => highlight(svg, node.id, false));
    add(nodeLayer, g);
  }
  return {svg, layout};
}

function highlight(svg, id, on) {
  for (const path of svg.querySelectorAll('.edge')) {
    if (path.dataset.from === id || path.dataset.to === id) path.classList.toggle('hot', on);
  }
}

function legend() {
  const item = (cls, text) => h('span', {class: 'legend-item'}, h('span', {class: `swatch ${cls}`}), text);
  return h('div', {class: 'legend'}, item('api', 'API'), item('event', 'Event'), item('cron', 'Cron'),
    item('noop', 'Noop'), item('stream', 'Stream trigger'), item('state', 'State trigger'), item('topic', 'Topic'),
    item('source', 'Stream / state'), h('span', {class: 'legend-item'}, h('span', {class: 'swatch dotted'}), 'Virtual'));
}

export function mount(root, app, params) {
  const tabs = h('div', {class: 'tabs', role: 'tablist', id: 'flow-tabs'});
  const canvas = h('div', {class: 'flow-canvas', id: 'flow-canvas'});
  const details = h('aside', {class: 'card flow-details', id: 'flow-details', hidden: true});
  const warnings = h('div');
  add(root, 
    h('header', {class: 'view-header'}, h('h1', {}, 'Flows'),
      h('p', {class: 'muted'}, 'Steps and the topics between them: emits flow into a topic, subscribers flow out of it. Click a step for its wiring.')),
    warnings, tabs,
    h('div', {class: 'card flow-card'}, legend(), canvas, details));

  let flows = new Map();
  let selectedFlow = null;
  let current = null;

  function closeDetails() {
    details.hidden = true;
    for (const el of canvas.querySelectorAll('.flow-node.selected')) el.classList.remove('selected');
  }

  function select(step, g) {
    closeDetails();
    g.classList.add('selected');
    details.hidden = false;
    fill(details, 
      h('div', {class: 'card-head'}, h('h2', {}, step.name), h('button', {class: 'icon-button', title: 'Close', onclick: closeDetails}, '×')),
      step.description && h('p', {class: 'muted'}, step.description), stepFacts(step, app));
  }

  function show(flow) {
    selectedFlow = flows.has(flow) ? flow : flows.keys().next().value;
    for (const tab of tabs.children) tab.setAttribute('aria-selected', String(tab.dataset.flow === selectedFlow));
    clear(canvas);
    details.hidden = true;
    current = null;
    if (!selectedFlow) { add(canvas, empty('No steps found under functions/.')); return; }
    current = renderDiagram(flowGraph(flows.get(selectedFlow)), select);
    add(canvas, current.svg);
    fitToWidth(current.svg, canvas, current.layout);
  }

  const onResize = () => { if (current) fitToWidth(current.svg, canvas, current.layout); };
  window.addEventListener('resize', onResize);

  loadSteps().then(({steps, warnings: list}) => {
    flows = flowsOf(steps);
    if (list.length) add(warnings, h('div', {class: 'warn-box'}, h('strong', {}, 'Warnings'), h('ul', {}, list.map((w) => h('li', {}, w)))));
    for (const [name, members] of flows) {
      add(tabs, h('button', {class: 'tab', role: 'tab', dataset: {flow: name},
                               onclick: () => app.navigate(app.link('flows', name))},
        name, h('span', {class: 'count'}, members.length)));
    }
    show(params.arg);
  }).catch((error) => add(canvas, h('div', {class: 'error-box'}, `Could not load steps: ${error.message}`)));

  return {
    update: (next) => { if (next.arg !== selectedFlow) show(next.arg); },
    unmount: () => window.removeEventListener('resize', onResize),
  };
}
