// The operator console: a static React app the server serves under /console with a strict
// Content-Security-Policy (no inline script or style), so the build emits only files.
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The polyfill is only for browsers without <link rel=modulepreload>; every browser the
    // console supports has it, and leaving it out keeps the entry free of injected code.
    modulePreload: { polyfill: false },
  },
  server: {
    // `npx vite` in apps/console against `countersign serve` on :8080, same origin for the cookie.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
})
