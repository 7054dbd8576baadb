// Bundle the demo page and the stream inspector into dist/ with esbuild (no config, no plugins).
// `npm ci && npm run build`; `make web` runs both, and `make dev` / `make test` run it when node exists.
import { build } from 'esbuild'
import { cpSync, mkdirSync, rmSync } from 'node:fs'

const out = new URL('./dist/', import.meta.url).pathname
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

await build({
  entryPoints: { demo: 'src/demo.jsx', inspector: 'src/inspector.jsx' },
  bundle: true,
  outdir: out,
  format: 'iife',
  jsx: 'automatic',
  minify: true,
  sourcemap: true,
  target: ['es2020'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
})
for (const file of ['index.html', 'inspector.html', 'styles.css']) cpSync(`public/${file}`, `${out}${file}`)
console.log(`built ${out}`)
