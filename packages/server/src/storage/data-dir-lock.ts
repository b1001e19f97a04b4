import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** The embedded database directory is held by another live process. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by another Countersign process (pid ${pid}). ` +
        `PGlite allows one process at a time: stop that process first (for example the running server), ` +
        `or point both at PostgreSQL with DATABASE_URL.`,
    )
  }
}

export interface DataDirLock {
  release(): void
}

/**
 * Takes `<dataDir>/countersign.lock` with O_EXCL. A lock left by a process that no longer
 * runs (crash, kill -9) is taken over; one held by a live process throws DataDirLockedError.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, 'countersign.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      let released = false
      return {
        release() {
          if (released) return
          released = true
          try {
            unlinkSync(path)
          } catch {
            // Already gone; nothing to release.
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10)
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(dataDir, holder)
      }
      unlinkSync(path) // stale: its process is gone
    }
  }
  throw new Error(`Could not lock ${path}; remove it if no Countersign process is running.`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
