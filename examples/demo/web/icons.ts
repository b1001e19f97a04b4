// Inline SVG icons (no icon font or emoji: they look the same on every machine).
const svg = (body: string, size = 24) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`

export const icons = {
  phone: (size?: number) => svg('<rect x="6" y="2" width="12" height="20" rx="2.5"/><path d="M11 18h2"/>', size),
  push: (size?: number) => svg('<rect x="5" y="3" width="11" height="18" rx="2"/><path d="M9 17h3"/><circle cx="18.5" cy="6.5" r="3" fill="currentColor" stroke="none"/>', size),
  qr: (size?: number) =>
    svg('<rect x="3" y="3" width="7" height="7" rx="1"/><rect x="14" y="3" width="7" height="7" rx="1"/><rect x="3" y="14" width="7" height="7" rx="1"/><path d="M14 14h3v3h-3zM20 14v.01M14 20h.01M17 20h4v-3"/>', size),
  check: (size?: number) => svg('<path d="M20 6 9 17l-5-5"/>', size),
  cross: (size?: number) => svg('<path d="M18 6 6 18M6 6l12 12"/>', size),
  shield: (size?: number) => svg('<path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z"/><path d="m9 12 2 2 4-4"/>', size),
  key: (size?: number) => svg('<circle cx="7.5" cy="15.5" r="4.5"/><path d="m10.7 12.3 9.8-9.8M17 6l3 3M15 8l2 2"/>', size),
  send: (size?: number) => svg('<path d="M22 2 11 13"/><path d="M22 2 15 22l-4-9-9-4z"/>', size),
  scan: (size?: number) => svg('<path d="M3 7V5a2 2 0 0 1 2-2h2M17 3h2a2 2 0 0 1 2 2v2M21 17v2a2 2 0 0 1-2 2h-2M7 21H5a2 2 0 0 1-2-2v-2M7 12h10"/>', size),
  fingerprint: (size?: number) =>
    svg(
      '<path d="M12 10a2 2 0 0 0-2 2c0 1.02-.1 2.51-.26 4"/><path d="M14 13.12c0 2.38 0 6.38-1 8.88"/><path d="M17.29 21.02c.12-.6.43-2.3.5-3.02"/><path d="M2 12a10 10 0 0 1 18-6"/><path d="M2 16h.01"/><path d="M21.8 16c.2-2 .131-5.354 0-6"/><path d="M5 19.5C5.5 18 6 15 6 12a6 6 0 0 1 .34-2"/><path d="M8.65 22c.21-.66.45-1.32.57-2"/><path d="M9 6.8a6 6 0 0 1 9 5.2v2"/>',
      size,
    ),
  user: (size?: number) => svg('<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>', size),
  plus: (size?: number) => svg('<path d="M12 5v14M5 12h14"/>', size),
  external: (size?: number) => svg('<path d="M15 3h6v6M10 14 21 3M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6"/>', size),
}
