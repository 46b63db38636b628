import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two cores: integration suites each start their own local stack on free ports.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/setup.ts'],
    // Outside the Functions host @azure/functions announces test mode on every registration: expected here.
    onConsoleLog: (log) => !log.includes('"@azure/functions" package'),
  },
});
