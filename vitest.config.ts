import { defineConfig } from 'vitest/config';

// Serial and patient: tests spawn real processes, Redis and SMTP on a noisy
// 2-core machine, and several measure "faster than" with generous bounds.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
  },
});
