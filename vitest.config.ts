import { defineConfig } from 'vitest/config';

// One runner for every workspace. Tests start real services (brokers, databases, serial ports,
// browsers), so files run in separate forks and generous timeouts apply; speed is measured in bench/.
export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts', 'dashboard/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for something another process does (a broker, a browser, a store). Its own default
    // (1 s) is shorter than one scheduling hiccup on a loaded 2-core CI machine; a poll whose condition
    // holds returns at once, so a longer bound costs a passing run nothing.
    expect: { poll: { timeout: 10_000 } },
    fileParallelism: true,
    // Each worker keeps its module cache across files: re-importing the shared dependencies (playwright,
    // express, mqtt, the stores) for every file cost more CPU than the tests themselves on 2 cores. Nothing
    // here mocks modules, and every file closes what it starts.
    isolate: false,
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
