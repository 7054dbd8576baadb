// The limit of the set() -> 1 subscriber figure (issue 22): a bare WebSocket echo (bench/bare_server.py),
// paced like the stream scenario. One raw `ws` client, configured as stream-latency.mjs's subscribers,
// sends a frame of the stream's update size every GAP_MS and times the echo back: RUNS x 5 samples, as
// stream-latency.mjs takes 5 updates per run, after WARMUP x 5 discarded ones.
// Latency = receipt (performance.timeOrigin + performance.now()) - the send's stamp, on the same clock.
// Usage: node echo-latency.mjs <base> <runs> <gapMs>
import { WebSocket } from 'ws'
import { summary, nowMs, sleep } from './stats.mjs'
const base = process.argv[2] ?? 'http://127.0.0.1:3000'
const RUNS = Number(process.argv[3] ?? 60)
const GAP = Number(process.argv[4] ?? 50)
const WARMUP = Number(process.env.WARMUP ?? 0)
const PAD = 'x'.repeat(Number(process.env.PAD ?? 180)) // about a PetProgress update frame's size

const ws = new WebSocket(base.replace(/^http/, 'ws'), { perMessageDeflate: true }) // as stream-latency.mjs
ws.on('error', (e) => console.error('ws error', e.message))
await new Promise((r) => ws.once('open', r))
let waiting = null
ws.on('message', (buf) => {
  const rt = nowMs()
  const m = JSON.parse(buf.toString())
  if (waiting && m.seq === waiting.seq) waiting.done(rt - m.sentAt)
})
const lat = []
let missed = 0
for (let i = -WARMUP * 5; i < RUNS * 5; i++) {
  const got = new Promise((r) => (waiting = { seq: i, done: r }))
  ws.send(JSON.stringify({ seq: i, sentAt: nowMs(), pad: PAD }))
  const r = await Promise.race([got, sleep(5000).then(() => null)])
  if (r === null) missed++
  else if (i >= 0) lat.push(r)
  await sleep(GAP)
}
console.log(JSON.stringify({ test: 'paced-websocket-echo', runs: RUNS, warmup_runs: WARMUP, gapMs: GAP,
  samples: lat.length, missed, latency_ms_round_trip: summary(lat) }))
ws.terminate()
await sleep(100)
process.exit(0)
