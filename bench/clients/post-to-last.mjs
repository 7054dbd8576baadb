// Time from the POST /pets response to the client holding the 5th (last) update, one pre-connected raw WS
// subscriber that sends join(group=traceId) in the same tick as the response arrives (startDelayMs=0).
// Adapted from shared/peers/motia-0.17/clients/post-to-last.mjs: the kit's script only counts an `update`
// frame with seq 5. A server that finishes the event chain before the join lands sends seq 5 in the join's
// `sync` snapshot instead, and the client then holds the final state on the sync's arrival: that is counted
// as the 5th update's arrival here (and reported: `runs_final_state_in_sync`).
// RAW=<file> writes the samples. Usage: node post-to-last.mjs <base> <runs>
import { WebSocket } from 'ws'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { summary, sleep } from './stats.mjs'
const base = process.argv[2] ?? 'http://127.0.0.1:3000'
const RUNS = Number(process.argv[3] ?? 50)
const ws = new WebSocket(base.replace(/^http/, 'ws'))
await new Promise((r) => ws.once('open', r))
let cur = null
ws.on('message', (buf) => {
  const t = performance.now()
  const m = JSON.parse(buf.toString())
  if (!cur || m.groupId !== cur.traceId) return
  if (m.event.type === 'sync') {
    const items = Array.isArray(m.event.data) ? m.event.data : [m.event.data]
    const seq = Math.max(-1, ...items.filter(Boolean).map((x) => x.seq ?? -1))
    if (seq >= 1 && cur.first == null) cur.first = t
    if (seq === 5) { cur.viaSync = true; cur.resolve(t) }
    return
  }
  if (m.event.type === 'update') {
    cur.got.add(m.event.data.seq)
    if (cur.first == null) cur.first = t
    if (m.event.data.seq === 5) cur.resolve(t)
  }
})
const toFirst = [], toLast = [], reqToLast = [], postRtt = [], fiveToOne = []
let incomplete = 0, viaSync = 0
for (let i = 0; i < RUNS; i++) {
  const tReq = performance.now()
  const res = await fetch(`${base}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `p${i}` }) })
  const { traceId } = await res.json()
  const tResp = performance.now()
  let resolve
  const last = new Promise((r) => (resolve = r))
  cur = { traceId, got: new Set(), first: null, resolve, viaSync: false }
  ws.send(JSON.stringify({ type: 'join', data: { streamName: 'petCreation', groupId: traceId, subscriptionId: randomUUID() } }))
  const t = await Promise.race([last, sleep(10000).then(() => null)])
  if (t == null) incomplete++
  else {
    if (cur.viaSync) viaSync++
    postRtt.push(tResp - tReq); toLast.push(t - tResp); reqToLast.push(t - tReq)
    if (cur.first != null) { toFirst.push(cur.first - tResp); fiveToOne.push(t - cur.first) }
  }
  await sleep(50)
}
console.log(JSON.stringify({ test: 'post-response-to-last-update', runs: RUNS, incomplete_runs: incomplete, runs_final_state_in_sync: viaSync,
  post_rtt_ms: summary(postRtt), post_response_to_first_update_ms: summary(toFirst), post_response_to_last_update_ms: summary(toLast),
  first_to_last_update_ms: summary(fiveToOne), post_request_to_last_update_ms: summary(reqToLast) }))
if (process.env.RAW) writeFileSync(process.env.RAW, JSON.stringify({ post_rtt: postRtt, to_last: toLast }))
ws.close(); await sleep(50); process.exit(0)
