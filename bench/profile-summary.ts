// Summarizes a V8 CPU profile (as written by `npm run bench -- --cpu-prof`): the functions and
// the packages with the most self time, i.e. where the server's CPU actually went.
//
//   npx tsx bench/profile-summary.ts bench/results/flows-postgres-<timestamp>.cpuprofile [--top 25]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Self time in ms per node id: each sample's time delta belongs to the node it landed in. */
function selfTimeByNode(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000))
  return self
}

/** "fastify/lib/route.js" rather than a long file URL; V8 internals keep their names. */
function shortLocation(url: string): string {
  if (!url) return ''
  const path = url.replace(/^file:\/\//, '')
  const inModules = path.lastIndexOf('node_modules/')
  if (inModules >= 0) return path.slice(inModules + 'node_modules/'.length)
  const inRepo = path.indexOf('/packages/')
  return inRepo >= 0 ? path.slice(inRepo + 1) : path
}

/** The package a location belongs to ("pg", "@fastify/ajv-compiler", "packages/server", "node:internal", "(V8)"). */
function packageOf(url: string): string {
  if (!url) return '(native/V8)'
  if (url.startsWith('node:')) return 'node:internal'
  const location = shortLocation(url)
  if (location.startsWith('packages/')) return location.split('/').slice(0, 2).join('/')
  const parts = location.split('/')
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? location)
}

function top(entries: Map<string, number>, count: number, total: number): string[] {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } })
  const file = positionals[0]
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top 25]')
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))

  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let total = 0
  for (const [id, ms] of selfTimeByNode(profile)) {
    const frame = nodes.get(id)?.callFrame
    if (!frame) continue
    total += ms
    const where = shortLocation(frame.url)
    const name = `${frame.functionName || '(anonymous)'}${where ? `  ${where}:${frame.lineNumber + 1}` : ''}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
    byPackage.set(packageOf(frame.url), (byPackage.get(packageOf(frame.url)) ?? 0) + ms)
  }

  const count = Number(values.top)
  process.stdout.write(`${file}: ${(total / 1000).toFixed(1)} s of samples\n\nSelf time by function:\n`)
  process.stdout.write(`${top(byFunction, count, total).join('\n')}\n\nSelf time by package:\n`)
  process.stdout.write(`${top(byPackage, 15, total).join('\n')}\n`)
}

main()
