import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser test needs chromium: npm run test:browser (vitest.browser.config.ts).
    exclude: ['test/browser/**', 'node_modules/**'],
    // HTTP tests open real SQLite files; give slow CI disks room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One line when the PostgreSQL suites are skipped (no server at DOORBELL_TEST_PG).
    globalSetup: ['test/helpers/pg-global-setup.ts'],
    // Every fast-check property ends at its first failure and within a time limit (a failing
    // property must not hang the run while it shrinks).
    setupFiles: ['test/helpers/fast-check.ts'],
  },
});
