// Builds the demo's pages with Vite (vite.config.ts beside this file) into dist/.
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

export const DIST_DIR = fileURLToPath(new URL('./dist', import.meta.url))

/** Runs the multi-page build; resolves when dist/ holds index.html, phone.html and assets/. */
export async function buildPages(): Promise<void> {
  await build({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)), logLevel: 'warn' })
}
