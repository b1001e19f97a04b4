// A few DOM helpers, so the page is built from elements and text nodes: no HTML strings (the
// QR code's SVG, from our own encoder, is the one exception) and no style attributes, which
// the page's CSP (`style-src 'self'`) would refuse anyway.

type Child = Node | string | null | undefined | false
type Attributes = Record<string, string | boolean | undefined>

/**
 * Creates an element. A `true` attribute is set empty, `false` or undefined is left out;
 * `class` takes a space-separated list.
 *
 * @example h('button', { type: 'button', class: 'button' }, 'Send again')
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : value)
  }
  append(element, ...children)
  return element
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, ...children)
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from index.html`)
  return element as T
}

/** A button that runs `onClick` and cannot be pressed twice while it runs. */
export function button(label: string, onClick: () => unknown, variant: 'primary' | 'secondary' | 'quiet' = 'primary', attributes: Attributes = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', class: `button button--${variant}`, ...attributes }, label)
  element.addEventListener('click', () => {
    if (element.disabled) return
    element.disabled = true
    void Promise.resolve()
      .then(onClick)
      .finally(() => {
        if (element.isConnected) element.disabled = false
      })
  })
  return element
}

export function spinner(): HTMLSpanElement {
  return h('span', { class: 'spinner', 'aria-hidden': 'true' })
}

let lastAnnouncement = ''

/**
 * Says `text` to screen readers through the polite live region (`assertive` uses the alert
 * region, for failures). The visible page says the same thing; this only makes the change heard.
 */
export function announce(text: string, politeness: 'polite' | 'assertive' = 'polite'): void {
  const region = byId(politeness === 'assertive' ? 'alerter' : 'announcer')
  // The same words twice in a row are not re-read unless the region changes first.
  if (text === lastAnnouncement) region.textContent = ''
  lastAnnouncement = text
  // A frame later, so a region that was just emptied registers the change.
  requestAnimationFrame(() => {
    region.textContent = text
  })
}

/** Inline SVG icons, drawn with paths only (presentation attributes, never `style`). */
export function icon(name: 'phone' | 'qr' | 'device' | 'check' | 'cross' | 'clock' | 'alert'): SVGSVGElement {
  const paths: Record<typeof name, string> = {
    phone: 'M7 2h10a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm0 3v14h10V5H7Zm4 15h2v-1h-2v1Z',
    qr: 'M3 3h8v8H3V3Zm2 2v4h4V5H5Zm8-2h8v8h-8V3Zm2 2v4h4V5h-4ZM3 13h8v8H3v-8Zm2 2v4h4v-4H5Zm8-2h2v2h-2v-2Zm2 2h2v2h-2v-2Zm2-2h4v2h-2v2h-2v-4Zm-4 4h2v4h-2v-4Zm4 2h4v2h-4v-2Zm2-2h2v2h-2v-2Z',
    device: 'M4 6a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v9H4V6Zm2 0v7h12V6H6ZM1.5 16.5h21V17a2.5 2.5 0 0 1-2.5 2.5H4A2.5 2.5 0 0 1 1.5 17v-.5Z',
    check: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20Zm-1.2 13.6 6.4-6.4-1.4-1.4-5 5-2.4-2.4-1.4 1.4 3.8 3.8Z',
    cross: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20Zm3.5 5.1L12 10.6 8.5 7.1 7.1 8.5l3.5 3.5-3.5 3.5 1.4 1.4 3.5-3.5 3.5 3.5 1.4-1.4-3.5-3.5 3.5-3.5-1.4-1.4Z',
    clock: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20Zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16Zm1 3v4.6l3.4 2-1 1.7L11 12.7V7h2Z',
    alert: 'M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20Zm-1 5v7h2V7h-2Zm0 9v2h2v-2h-2Z',
  }
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('aria-hidden', 'true')
  svg.setAttribute('focusable', 'false')
  svg.setAttribute('class', `icon icon--${name}`)
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path')
  path.setAttribute('fill', 'currentColor')
  path.setAttribute('fill-rule', 'evenodd')
  path.setAttribute('d', paths[name])
  svg.appendChild(path)
  return svg
}
