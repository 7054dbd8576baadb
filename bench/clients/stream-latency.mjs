// set() -> client receipt latency for K raw-WebSocket subscribers of one group (groupId = traceId).
// Adapted from shared/peers/motia-0.17/clients/stream-latency.mjs (same method, same latency basis) with:
//   GAP_MS      the event step sleeps this long between its 5 set()s (the peer's step has the same `gapMs`
//               knob); 0 = the kit's burst of 5 back-to-back sets
//   STALL=1     one extra subscriber that never reads: it joins every measured group and, first, BALLAST
//               groups whose items carry a big `name` (~BALLAST_KB each), so its TCP buffers are full
//               and the server cannot write to it any more; its samples are excluded
//   STALL_ALTERNATE=1  the stalled subscriber joins every other run's group only, and the figures are
//               reported for both kinds of run (`by_condition`): the same server, interleaved
//   WARMUP=<n>  run n more runs first and discard their samples, so that the measured runs do not
//               include this process's own start-up work (V8 compiling its hot paths on helper threads)
//   RAW=<file>  write every latency sample (real update frames, slowest subscriber per update) as JSON
// Latency = receiver's performance.timeOrigin + performance.now() at frame receipt - data.sentAt, which the
// step stamps from the same host wall clock immediately before set().
// Usage: node stream-latency.mjs <base> <subscribers> <runs> <startDelayMs>
import { WebSocket } from 'ws'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { summary, nowMs, sleep } from './stats.mjs'
const base = process.argv[2] ?? 'http://127.0.0.1:3000'
const K = Number(process.argv[3] ?? 1)
const RUNS = Number(process.argv[4] ?? 40)
const DELAY = Number(process.argv[5] ?? 300)
const GAP = Number(process.env.GAP_MS ?? 0)
const STALL = process.env.STALL === '1'
const BALLAST = Number(process.env.BALLAST ?? 16)
const BALLAST_KB = Number(process.env.BALLAST_KB ?? 60)
const ALTERNATE = process.env.STALL_ALTERNATE === '1'
const WARMUP = Number(process.env.WARMUP ?? 0)
const wsUrl = base.replace(/^http/, 'ws')
const join = (ws, groupId) => ws.send(JSON.stringify({ type: 'join', data: { streamName: 'petCreation', groupId, subscriptionId: randomUUID() } }))
const post = async (body) => (await (await fetch(`${base}/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json())

const subs = []
const opened = []
for (let i = 0; i < K; i++) {
  const ws = new WebSocket(wsUrl, { perMessageDeflate: true }) // `ws`'s default, as browsers: offer permessage-deflate
  ws.on('error', (e) => console.error('ws error', e.message))
  subs.push({ ws, i })
  opened.push(new Promise((r) => ws.once('open', r)))
  if (i % 50 === 49) await Promise.all(opened.slice(-50)) // do not flood the accept queue
}
await Promise.all(opened)

let stalled = null, stalledClosed = false
if (STALL) {
  stalled = new WebSocket(wsUrl)
  stalled.on('error', () => {})
  stalled.on('close', () => { stalledClosed = true })
  await new Promise((r) => stalled.once('open', r))
  stalled._socket.pause() // stop reading: the kernel buffers fill, then the server's writes to it block
  const big = 'x'.repeat(BALLAST_KB * 1024)
  for (let b = 0; b < BALLAST; b++) {
    const { traceId } = await post({ name: `ballast${b}-${big}`, startDelayMs: 100 })
    join(stalled, traceId)
  }
  await sleep(1500)
}

const clockSkew = []
const spread = [] // per update: first to last subscriber's receipt, i.e. the time this one process took to read them all
const realLat = [], anyLat = [], fanoutLast = [], perSeq = { 1: [], 2: [], 3: [], 4: [], 5: [] }
let missed = 0, framesTotal = 0, wrappedDup = 0
const joinSyncMs = []
let current = null
const byCond = { with_stalled: { real: [], slowest: [] }, without_stalled: { real: [], slowest: [] } }
for (const s of subs) {
  s.ws.on('message', (buf) => {
    const rt = nowMs()
    framesTotal++
    const m = JSON.parse(buf.toString())
    if (!current || m.groupId !== current.traceId) return
    if (m.event.type === 'sync') { current.synced++; if (current.synced === K) current.onAllSynced(); return }
    const isWrapped = m.event.type === 'event' && m.event.event?.type === 'update'
    const isReal = m.event.type === 'update'
    if (!isWrapped && !isReal) return
    const d = isReal ? m.event.data : m.event.event.data
    const lat = rt - d.sentAt
    const key = `${s.i}:${d.seq}`
    if (isWrapped) wrappedDup++
    if (!current.seen.has(key)) { current.seen.add(key); anyLat.push(lat) }
    if (isReal) {
      realLat.push(lat); perSeq[d.seq]?.push(lat); byCond[current.cond].real.push(lat)
      const f = current.fan[d.seq] ?? (current.fan[d.seq] = { n: 0, max: 0 })
      f.n++; f.max = Math.max(f.max, lat); f.min = Math.min(f.min ?? Infinity, lat)
      current.realCount++
      if (current.realCount === K * 5) current.onDone()
    }
  })
}

const discard = () => {
  for (const a of [clockSkew, spread, realLat, anyLat, fanoutLast, joinSyncMs, ...Object.values(perSeq),
    ...Object.values(byCond).flatMap((c) => [c.real, c.slowest])]) a.length = 0
  missed = 0; framesTotal = 0; wrappedDup = 0
}
for (let i = -WARMUP; i < RUNS; i++) {
  if (i === 0) discard()
  const run = i < 0 ? RUNS - i - 1 : i // warm-up runs get item names of their own
  clockSkew.push(Date.now() - nowMs())
  const { traceId } = await post({ name: `bench${run}`, startDelayMs: DELAY, gapMs: GAP })
  let onAllSynced, onDone
  const synced = new Promise((r) => (onAllSynced = r))
  const done = new Promise((r) => (onDone = r))
  const stalledHere = stalled !== null && !stalledClosed && (!ALTERNATE || run % 2 === 1)
  current = { traceId, synced: 0, seen: new Set(), fan: {}, realCount: 0, onAllSynced, onDone,
    cond: stalledHere ? 'with_stalled' : 'without_stalled' }
  const tj = performance.now()
  for (const s of subs) join(s.ws, traceId)
  if (stalledHere) join(stalled, traceId)
  await synced
  joinSyncMs.push(performance.now() - tj)
  const r = await Promise.race([done, sleep(DELAY + 5 * GAP + 10000).then(() => 'timeout')])
  if (r === 'timeout') missed += K * 5 - current.realCount
  for (const seq of Object.keys(current.fan)) { fanoutLast.push(current.fan[seq].max); spread.push(current.fan[seq].max - current.fan[seq].min); byCond[current.cond].slowest.push(current.fan[seq].max) }
  await sleep(100)
}
const out = {
  test: 'stream-set-to-receive', subscribers: K, runs: RUNS, warmup_runs: WARMUP, startDelayMs: DELAY, gapMs: GAP, stalled_client: STALL,
  stalled_client_closed_by_server: STALL ? stalledClosed : undefined,
  samples_real_update: realLat.length, missed_updates: missed, frames_received_total: framesTotal, wrapped_update_frames: wrappedDup,
  latency_ms_real_update_frame: summary(realLat),
  latency_ms_first_frame_carrying_update: summary(anyLat),
  fanout_last_subscriber_ms_per_update: summary(fanoutLast),
  first_to_last_receipt_ms_per_update: summary(spread),
  per_seq_p50: Object.fromEntries(Object.entries(perSeq).map(([k, v]) => [k, summary(v).p50])),
  join_all_synced_ms: summary(joinSyncMs),
  clock_check_DateNow_minus_timeOriginNow_ms: summary(clockSkew),
  by_condition: ALTERNATE ? Object.fromEntries(Object.entries(byCond).map(([k, v]) => [k, {
    latency_ms_real_update_frame: summary(v.real), fanout_last_subscriber_ms_per_update: summary(v.slowest) }])) : undefined,
}
console.log(JSON.stringify(out))
if (process.env.RAW) writeFileSync(process.env.RAW, JSON.stringify({ real: realLat, slowest: fanoutLast, by_condition: ALTERNATE ? byCond : undefined }))
for (const s of subs) s.ws.terminate()
stalled?.terminate()
await sleep(100)
process.exit(0)
