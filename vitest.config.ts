import { defineConfig } from 'vitest/config';

// One runner for every workspace. Tests start real services (brokers, databases, serial ports,
// browsers), so files run in separate forks and generous timeouts apply; speed is measured in bench/.
export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts', 'dashboard/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
