// N sequential GET /ping over one keep-alive connection; latency = request write -> full body read.
// Adapted from shared/peers/motia-0.17/clients/ping-latency.mjs (same method) to write the raw samples.
// Usage: node ping-latency.mjs <base> <N> <warmup> <maxSecs>    RAW=<file> writes the samples
import http from 'node:http'
import { writeFileSync } from 'node:fs'
import { summary } from './stats.mjs'
const base = new URL(process.argv[2] ?? 'http://127.0.0.1:3000')
const N = Number(process.argv[3] ?? 2000)
const W = Number(process.argv[4] ?? 50)
const MAX_SECS = Number(process.argv[5] ?? 0)
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const get = () => new Promise((resolve, reject) => {
  const t = performance.now()
  const req = http.request({ host: base.hostname, port: base.port, path: '/ping', agent }, (res) => {
    let b = ''
    res.on('data', (c) => (b += c))
    res.on('end', () => resolve({ ms: performance.now() - t, status: res.statusCode, body: b }))
  })
  req.on('error', reject)
  req.end()
})
for (let i = 0; i < W; i++) await get()
const lat = []
let bad = 0, capped = false
const t0 = performance.now()
for (let i = 0; i < N; i++) {
  const r = await get()
  if (r.status !== 200 || r.body !== '{"ok":true}') bad++
  lat.push(r.ms)
  if (MAX_SECS && performance.now() - t0 > MAX_SECS * 1000) { capped = true; break }
}
const wall = (performance.now() - t0) / 1000
console.log(JSON.stringify({ test: 'ping-sequential', warmup: W, requested: N, completed: lat.length, capped_by_time: capped, errors: bad,
  wall_s: Number(wall.toFixed(2)), rps_sequential: Number((lat.length / wall).toFixed(2)), latency_ms: summary(lat) }))
if (process.env.RAW) writeFileSync(process.env.RAW, JSON.stringify({ ping: lat }))
agent.destroy()
