// Where the server's own files are, found from this module's URL. It sits one directory below
// packages/server (in src/), as the production bundle does (dist/countersign.mjs), so the same
// paths hold whether the server runs from its sources or from the bundle.
import { fileURLToPath } from 'node:url'

/** packages/server/, with a trailing slash. */
export const SERVER_ROOT = fileURLToPath(new URL('../', import.meta.url))
/** The committed SQL migrations. */
export const MIGRATIONS_DIR = `${SERVER_ROOT}migrations`
/** The web apps (console, hosted challenge page), whose Vite builds the server serves. */
export const APPS_DIR = `${SERVER_ROOT}../../apps/`
