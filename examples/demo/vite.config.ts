// The demo's two pages, one multi-page build: web/index.html (the bank's website) and
// web/phone.html (the bank's phone app). `npm run demo` builds them at start (build.ts);
// `npm run build -w @countersign/demo` does the same by hand. No CDN: everything the pages
// load is in dist/.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const web = fileURLToPath(new URL('./web/', import.meta.url))

export default defineConfig({
  root: web,
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      input: { bank: `${web}index.html`, phone: `${web}phone.html` },
    },
  },
})
