import { defineConfig } from 'vitest/config'

// Unit tests run in parallel, isolated. Integration tests share one database per run (PGlite
// takes seconds and most of a gigabyte to start), so they run in one worker without
// isolation and keep apart by tenant. With TEST_DATABASE_URL the same integration suite runs
// again on PostgreSQL. After each integration file, log-scan-setup.ts scans what the server
// logged during it for secrets.
const integration = (name: string, database: 'pglite' | 'postgres') => ({
  test: {
    name,
    include: ['packages/*/test/**/*.test.ts', 'examples/**/*.test.ts'],
    env: { COUNTERSIGN_TEST_DB: database },
    setupFiles: ['packages/server/test/support/log-scan-setup.ts'],
    isolate: false,
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      integration('integration:pglite', 'pglite'),
      ...(process.env.TEST_DATABASE_URL ? [integration('integration:postgres', 'postgres')] : []),
    ],
  },
})
