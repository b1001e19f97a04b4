// The production bundle: the server's sources (and @countersign/protocol's) in one ES module,
// packages/server/dist/countersign.mjs, run by plain `node` without tsx transpiling at start.
// Its dependencies stay in node_modules. Measured on the 2-core machine: about 130 MB resident
// at idle on PostgreSQL, against about 200 MB from the sources through tsx.
//
//   npm run build:server && node packages/server/dist/countersign.mjs serve
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const SERVER = fileURLToPath(new URL('../', import.meta.url))
const manifest = JSON.parse(readFileSync(`${SERVER}package.json`, 'utf8')) as { dependencies: Record<string, string> }
// Every dependency but the workspace's own TypeScript packages, with its subpaths (zod/v4, drizzle-orm/pg-core…).
const external = Object.keys(manifest.dependencies)
  .filter((name) => !name.startsWith('@countersign/'))
  .flatMap((name) => [name, `${name}/*`])

const started = performance.now()
await build({
  entryPoints: [`${SERVER}src/cli.ts`],
  // One directory below packages/server, as src/ is: src/paths.ts finds the migrations and the web apps from there.
  outfile: `${SERVER}dist/countersign.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
})
process.stdout.write(`Built packages/server/dist/countersign.mjs in ${Math.round(performance.now() - started)} ms\n`)
