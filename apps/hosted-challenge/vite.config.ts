// The hosted challenge page: plain TypeScript and DOM, built to static files the server serves
// under /challenge with a strict Content-Security-Policy (no inline script or style), so the
// build must emit only files: no inline module-preload polyfill, no inlined CSS.
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/challenge/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Every browser that has the Web Crypto and IndexedDB this page needs has
    // <link rel=modulepreload>; leaving the polyfill out keeps the entry free of injected code.
    modulePreload: { polyfill: false },
    // Small assets stay files: `img-src 'self' data:` would allow a data: URI, but a file is
    // what the server's /challenge/assets route is for, and it caches.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  server: {
    // `npx vite` in apps/hosted-challenge against `countersign serve` on :8080.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
})
