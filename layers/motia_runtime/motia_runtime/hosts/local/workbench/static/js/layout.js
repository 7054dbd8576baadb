// A layered (Sugiyama-style) layout of a directed graph, top to bottom, with no DOM access:
//   1. break cycles (edges that point back up a DFS are reversed for layout only);
//   2. assign layers by longest path, then pull each source down next to its first successor;
//   3. split edges that span several layers with zero-height "dummy" nodes, so long edges get
//      their own slot in every layer they cross and never run through a box;
//   4. order each layer by barycenters (sweeps down and up), keeping the order with the fewest
//      crossings;
//   5. place x by least squares: each node wants the mean x of its neighbours, subject to its
//      layer's order and minimum gaps (pool-adjacent-violators), alternating down/up passes.
// Nodes never overlap by construction: a layer is one row, and a row's boxes keep their gaps.

const DUMMY = '\u0000dummy';

/**
 * @param {{id: string, width: number, height: number}[]} nodes
 * @param {{from: string, to: string}[]} edges  (any extra fields are kept)
 * @returns {{nodes: Map<string, {x, y, width, height, layer}>, edges: object[], width: number, height: number}}
 */
export function layeredLayout(nodes, edges, options = {}) {
  const {layerGap = 56, nodeGap = 32, margin = 24, sweeps = 16, passes = 10} = options;
  if (!nodes.length) return {nodes: new Map(), edges: [], width: 2 * margin, height: 2 * margin};
  const graph = new Graph(nodes, edges);
  graph.breakCycles();
  graph.assignLayers();
  graph.insertDummies();
  graph.orderLayers(sweeps);
  graph.placeX(nodeGap, passes);
  return graph.result(layerGap, margin);
}

class Graph {
  constructor(nodes, edges) {
    this.nodes = new Map(nodes.map((n, index) => [n.id, {...n, index, layer: 0, x: 0, dummy: false}]));
    this.edges = edges.filter((e) => this.nodes.has(e.from) && this.nodes.has(e.to) && e.from !== e.to)
      .map((e) => ({...e, reversed: false}));
    this.input = edges;
  }

  /** DAG adjacency from the (possibly reversed) layout edges, deduplicated. */
  adjacency() {
    const succ = new Map([...this.nodes.keys()].map((id) => [id, new Set()]));
    const pred = new Map([...this.nodes.keys()].map((id) => [id, new Set()]));
    for (const e of this.edges) {
      const [a, b] = e.reversed ? [e.to, e.from] : [e.from, e.to];
      succ.get(a).add(b);
      pred.get(b).add(a);
    }
    return {succ, pred};
  }

  /** Mark the edges to reverse so the graph has no cycle: the back edges of a DFS. The DFS
   *  starts from each source in turn (API and cron steps, usually) and the start that reverses
   *  the fewest edges wins: loops then point back towards the flow's main entry. */
  breakCycles() {
    const out = new Map([...this.nodes.keys()].map((id) => [id, []]));
    for (const e of this.edges) out.get(e.from).push(e);
    const hasInput = new Set(this.edges.map((e) => e.to));
    const order = [...this.nodes.keys()].sort((a, b) => hasInput.has(a) - hasInput.has(b));
    const sources = order.filter((id) => !hasInput.has(id));
    const backEdges = (first) => {
      const state = new Map();
      const back = new Set();
      const visit = (id) => {
        state.set(id, 1);
        for (const e of out.get(id)) {
          const seen = state.get(e.to);
          if (seen === 1) back.add(e);  // points at a node on the DFS stack
          else if (!seen) visit(e.to);
        }
        state.set(id, 2);
      };
      for (const id of [first, ...order]) if (id !== undefined && !state.get(id)) visit(id);
      return back;
    };
    let best = backEdges(sources[0]);
    for (const source of sources.slice(1)) {
      if (!best.size) break;
      const back = backEdges(source);
      if (back.size < best.size) best = back;
    }
    for (const e of best) e.reversed = true;
  }

  assignLayers() {
    const {succ, pred} = this.adjacency();
    const indegree = new Map([...pred].map(([id, p]) => [id, p.size]));
    const queue = [...this.nodes.keys()].filter((id) => indegree.get(id) === 0);
    const order = [];
    while (queue.length) {
      const id = queue.shift();
      order.push(id);
      for (const next of succ.get(id)) {
        const node = this.nodes.get(next);
        node.layer = Math.max(node.layer, this.nodes.get(id).layer + 1);
        indegree.set(next, indegree.get(next) - 1);
        if (indegree.get(next) === 0) queue.push(next);
      }
    }
    // A source that feeds something deep (a cron emitting into the middle of a flow) sits just
    // above its nearest successor instead of at the top with a long edge.
    for (const id of [...order].reverse()) {
      if (pred.get(id).size || !succ.get(id).size) continue;
      this.nodes.get(id).layer = Math.min(...[...succ.get(id)].map((n) => this.nodes.get(n).layer)) - 1;
    }
    const min = Math.min(...[...this.nodes.values()].map((n) => n.layer));
    for (const node of this.nodes.values()) node.layer -= min;
  }

  insertDummies() {
    this.paths = [];
    let count = 0;
    for (const e of this.edges) {
      const [a, b] = e.reversed ? [e.to, e.from] : [e.from, e.to];
      const path = [a];
      for (let layer = this.nodes.get(a).layer + 1; layer < this.nodes.get(b).layer; layer++) {
        const id = `${DUMMY}${count++}`;
        this.nodes.set(id, {id, width: 0, height: 0, layer, x: 0, dummy: true, index: this.nodes.get(a).index});
        path.push(id);
      }
      path.push(b);
      this.paths.push({edge: e, path});
    }
    this.up = new Map([...this.nodes.keys()].map((id) => [id, []]));
    this.down = new Map([...this.nodes.keys()].map((id) => [id, []]));
    for (const {path} of this.paths) {
      for (let i = 0; i + 1 < path.length; i++) {
        this.down.get(path[i]).push(path[i + 1]);
        this.up.get(path[i + 1]).push(path[i]);
      }
    }
    const depth = Math.max(...[...this.nodes.values()].map((n) => n.layer)) + 1;
    this.layers = Array.from({length: depth}, () => []);
    for (const node of [...this.nodes.values()].sort((p, q) => p.index - q.index)) this.layers[node.layer].push(node.id);
  }

  crossings() {
    let total = 0;
    for (let i = 0; i + 1 < this.layers.length; i++) {
      const pos = new Map(this.layers[i + 1].map((id, k) => [id, k]));
      const segments = [];
      this.layers[i].forEach((id, k) => { for (const d of this.down.get(id)) segments.push([k, pos.get(d)]); });
      for (let a = 0; a < segments.length; a++) {
        for (let b = a + 1; b < segments.length; b++) {
          if ((segments[a][0] - segments[b][0]) * (segments[a][1] - segments[b][1]) < 0) total++;
        }
      }
    }
    return total;
  }

  orderLayers(sweeps) {
    let best = this.layers.map((l) => [...l]);
    let bestCrossings = this.crossings();
    for (let sweep = 0; sweep < sweeps && bestCrossings > 0; sweep++) {
      const downward = sweep % 2 === 0;
      const range = downward ? [...this.layers.keys()].slice(1) : [...this.layers.keys()].reverse().slice(1);
      for (const i of range) {
        const ref = this.layers[downward ? i - 1 : i + 1];
        const pos = new Map(ref.map((id, k) => [id, k]));
        const neighbours = downward ? this.up : this.down;
        const keyed = this.layers[i].map((id, k) => {
          const ns = neighbours.get(id).filter((n) => pos.has(n));
          const bary = ns.length ? ns.reduce((sum, n) => sum + pos.get(n), 0) / ns.length : k;
          return {id, bary, k};
        });
        keyed.sort((p, q) => p.bary - q.bary || p.k - q.k);
        this.layers[i] = keyed.map((x) => x.id);
      }
      const crossings = this.crossings();
      if (crossings < bestCrossings) {
        bestCrossings = crossings;
        best = this.layers.map((l) => [...l]);
      }
    }
    this.layers = best;
  }

  placeX(gap, passes) {
    const width = (id) => this.nodes.get(id).width;
    for (const layer of this.layers) {
      let x = 0;
      for (const id of layer) {
        this.nodes.get(id).x = x + width(id) / 2;
        x += width(id) + gap;
      }
    }
    const centre = (id) => this.nodes.get(id).x;
    for (let pass = 0; pass < passes; pass++) {
      const downward = pass % 2 === 0;
      const order = downward ? this.layers : [...this.layers].reverse();
      for (const layer of order) {
        const wanted = layer.map((id) => {
          const ns = (downward ? this.up : this.down).get(id);
          const other = (downward ? this.down : this.up).get(id);
          const all = ns.length ? ns : other;  // no neighbour on this side: follow the other side
          return all.length ? all.reduce((sum, n) => sum + centre(n), 0) / all.length : centre(id);
        });
        const placed = closestOrderedPlacement(layer.map(width), wanted, gap,
          layer.map((id) => (this.nodes.get(id).dummy ? 2 : 1)));
        layer.forEach((id, k) => { this.nodes.get(id).x = placed[k]; });
      }
    }
  }

  result(layerGap, margin) {
    const left = Math.min(...[...this.nodes.values()].map((n) => n.x - n.width / 2));
    const tops = [];
    let y = margin;
    const heights = this.layers.map((layer) => Math.max(8, ...layer.map((id) => this.nodes.get(id).height)));
    for (const height of heights) {
      tops.push(y);
      y += height + layerGap;
    }
    const placed = new Map();
    let right = 0;
    for (const node of this.nodes.values()) {
      const x = node.x - node.width / 2 - left + margin;
      const box = {x, y: tops[node.layer] + (heights[node.layer] - node.height) / 2, width: node.width,
                   height: node.height, layer: node.layer};
      if (!node.dummy) placed.set(node.id, box);
      else placed.set(node.id, {...box, y: tops[node.layer], height: heights[node.layer]});
      right = Math.max(right, x + node.width);
    }
    const edges = this.paths.map(({edge, path}) => {
      const points = this.route(path, placed);
      return {...edge, points: edge.reversed ? points.reverse() : points};  // arrows keep their real direction
    });
    for (const id of [...placed.keys()]) if (id.startsWith(DUMMY)) placed.delete(id);
    return {nodes: placed, edges, width: right + margin, height: y - layerGap + margin};
  }

  /** Points of an edge: out of the bottom of its source, through its dummies, into the top of its target. */
  route(path, placed) {
    const [first, last] = [placed.get(path[0]), placed.get(path[path.length - 1])];
    const points = [{x: this.port(path[0], path[1], placed, 'down'), y: first.y + first.height}];
    for (const id of path.slice(1, -1)) {
      const box = placed.get(id);
      points.push({x: box.x, y: box.y}, {x: box.x, y: box.y + box.height});
    }
    points.push({x: this.port(path[path.length - 1], path[path.length - 2], placed, 'up'), y: last.y});
    return points;
  }

  /** Spread a node's edges along its bottom (or top) edge, in the order of where they lead. */
  port(id, towards, placed, side) {
    const box = placed.get(id);
    const others = (side === 'down' ? this.down : this.up).get(id);
    if (others.length < 2) return box.x + box.width / 2;
    const sorted = [...others].sort((a, b) => placed.get(a).x - placed.get(b).x);
    const span = Math.min(box.width * 0.6, others.length * 18);
    return box.x + box.width / 2 - span / 2 + (span * sorted.indexOf(towards)) / (others.length - 1);
  }
}

/**
 * Lay out each connected component on its own, then pack them in rows no wider than
 * `maxRowWidth` (or the widest component): unrelated parts of a flow (a cron with its own topics,
 * GET endpoints that emit nothing) sit side by side instead of widening one huge first layer.
 */
export function layoutComponents(nodes, edges, options = {}) {
  const {maxRowWidth = 1000, componentGap = 40, margin = 24} = options;
  const parent = new Map(nodes.map((n) => [n.id, n.id]));
  const find = (id) => (parent.get(id) === id ? id : find(parent.get(id)));
  for (const e of edges) if (parent.has(e.from) && parent.has(e.to)) parent.set(find(e.from), find(e.to));
  const groups = new Map();
  for (const n of nodes) {
    const root = find(n.id);
    if (!groups.has(root)) groups.set(root, []);
    groups.get(root).push(n);
  }
  // Biggest first; single nodes last, in their given order.
  const parts = [...groups.values()].map((members, order) => ({members, order}))
    .sort((a, b) => (b.members.length > 1) - (a.members.length > 1) || b.members.length - a.members.length || a.order - b.order)
    .map(({members}) => {
      const ids = new Set(members.map((n) => n.id));
      return layeredLayout(members, edges.filter((e) => ids.has(e.from) && ids.has(e.to)), {...options, margin: 0});
    });
  const limit = Math.max(maxRowWidth, ...parts.map((p) => p.width));
  const placed = new Map();
  const routed = [];
  let [x, y, rowHeight, width] = [0, 0, 0, 0];
  for (const part of parts) {
    if (x > 0 && x + part.width > limit) { x = 0; y += rowHeight + componentGap; rowHeight = 0; }
    const [dx, dy] = [x + margin, y + margin];
    for (const [id, box] of part.nodes) placed.set(id, {...box, x: box.x + dx, y: box.y + dy});
    for (const e of part.edges) routed.push({...e, points: e.points.map((p) => ({x: p.x + dx, y: p.y + dy}))});
    x += part.width + componentGap;
    rowHeight = Math.max(rowHeight, part.height);
    width = Math.max(width, x - componentGap);
  }
  return {nodes: placed, edges: routed, width: width + 2 * margin, height: y + rowHeight + 2 * margin};
}

/**
 * Centres as close as possible (weighted least squares) to `wanted`, keeping the given order and
 * at least `gap` between neighbouring boxes: isotonic regression by pool-adjacent-violators on
 * wanted[i] - offset[i], where offset[i] is the tightest packing of the boxes before i.
 */
export function closestOrderedPlacement(widths, wanted, gap, weights = widths.map(() => 1)) {
  const offset = [0];
  for (let i = 1; i < widths.length; i++) offset.push(offset[i - 1] + (widths[i - 1] + widths[i]) / 2 + gap);
  const blocks = [];
  wanted.forEach((w, i) => {
    blocks.push({sum: (w - offset[i]) * weights[i], weight: weights[i], count: 1});
    while (blocks.length > 1) {
      const [a, b] = blocks.slice(-2);
      if (a.sum / a.weight <= b.sum / b.weight) break;
      blocks.splice(-2, 2, {sum: a.sum + b.sum, weight: a.weight + b.weight, count: a.count + b.count});
    }
  });
  const placed = [];
  for (const block of blocks) for (let k = 0; k < block.count; k++) placed.push(offset[placed.length] + block.sum / block.weight);
  return placed;
}

/** An SVG path through layout points: curves across layer gaps, straight lines through dummies. */
export function edgePath(points) {
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (i % 2 === 0) { d += ` L${b.x},${b.y}`; continue; }
    const dy = (b.y - a.y) / 2;
    d += ` C${a.x},${a.y + dy} ${b.x},${b.y - dy} ${b.x},${b.y}`;
  }
  return d;
}
