import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // HTTP tests open real SQLite files; give slow CI disks room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
