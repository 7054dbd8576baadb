// The limit of the set() -> slowest of K subscribers figure: the bare server's broadcast
// (bench/bare_server.py, POST /broadcast) paced like the stream scenario, read by K raw `ws` sockets in
// this one Node process, as stream-latency.mjs reads ours. Each run asks for 5 updates GAP_MS apart (as
// the event step's 5 set()s), the first DELAY_MS after the request (as the step's startDelayMs, so
// the request's own work is over); the server stamps each frame's `sentAt` when it encodes it, then writes it
// to every socket. RUNS x 5 updates are measured after WARMUP x 5 discarded ones.
// Latency = receipt (performance.timeOrigin + performance.now()) - sentAt, on the same host clock, as
// stream-latency.mjs; per update: the slowest subscriber, and the first to last receipt.
// Usage: node broadcast-latency.mjs <base> <subscribers> <runs> <gapMs>
import { WebSocket } from 'ws'
import { writeFileSync } from 'node:fs'
import { summary, nowMs, sleep } from './stats.mjs'
const base = process.argv[2] ?? 'http://127.0.0.1:3000'
const K = Number(process.argv[3] ?? 100)
const RUNS = Number(process.argv[4] ?? 60)
const GAP = Number(process.argv[5] ?? 50)
const WARMUP = Number(process.env.WARMUP ?? 0)
const BYTES = Number(process.env.BYTES ?? 200) // about a PetProgress update frame's size
const DELAY = Number(process.env.DELAY_MS ?? 100)

const subs = []
for (let i = 0; i < K; i++) {
  const ws = new WebSocket(base.replace(/^http/, 'ws'), { perMessageDeflate: true }) // as stream-latency.mjs
  ws.on('error', (e) => console.error('ws error', e.message))
  subs.push(new Promise((r) => ws.once('open', () => r(ws))))
  if (i % 50 === 49) await Promise.all(subs.slice(-50)) // do not flood the accept queue
}
const sockets = await Promise.all(subs)

let current = null
for (const ws of sockets) {
  ws.on('message', (buf) => {
    const rt = nowMs()
    const m = JSON.parse(buf.toString())
    const u = current?.updates[m.seq]
    if (!u) return
    const lat = rt - m.sentAt
    u.n++; u.max = Math.max(u.max, lat); u.min = Math.min(u.min, lat); current.every.push(lat)
    if (++current.count === K * 5) current.done()
  })
}

const every = [], slowest = [], spread = []
let missed = 0
for (let i = -WARMUP; i < RUNS; i++) {
  let done
  const finished = new Promise((r) => (done = r))
  current = { count: 0, every: [], done, updates: Array.from({ length: 5 }, () => ({ n: 0, max: 0, min: Infinity })) }
  const answer = fetch(`${base}/broadcast?updates=5&gap_ms=${GAP}&delay_ms=${DELAY}&bytes=${BYTES}`, { method: 'POST' })
  const r = await Promise.race([finished, sleep(DELAY + 5 * GAP + 10000).then(() => 'timeout')])
  await (await answer).json()
  if (i < 0) { await sleep(100); continue }
  if (r === 'timeout') missed += K * 5 - current.count
  every.push(...current.every)
  for (const u of current.updates) if (u.n) { slowest.push(u.max); spread.push(u.max - u.min) }
  await sleep(100)
}
const out = {
  test: 'paced-bare-broadcast', subscribers: K, runs: RUNS, warmup_runs: WARMUP, gapMs: GAP,
  samples: every.length, missed_updates: missed,
  latency_ms_every_receipt: summary(every),
  fanout_last_subscriber_ms_per_update: summary(slowest),
  first_to_last_receipt_ms_per_update: summary(spread),
}
console.log(JSON.stringify(out))
if (process.env.RAW) writeFileSync(process.env.RAW, JSON.stringify({ every, slowest }))
for (const ws of sockets) ws.terminate()
await sleep(100)
process.exit(0)
