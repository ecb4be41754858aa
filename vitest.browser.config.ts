import { defineConfig } from 'vitest/config';

// npm run test:browser: Swagger UI driven in Debian's chromium (see test/browser/).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
