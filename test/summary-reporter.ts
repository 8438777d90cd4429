import type { Reporter, SerializedError, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** Files and suites that failed outside any test: a file that does not load, a beforeAll/afterAll that throws or times out. */
  failedSuites: number;
  unhandledErrors: number;
  ok: boolean;
}

/**
 * Counts a finished run. A run is ok only if no test, no suite (loading, hooks) and nothing unhandled failed:
 * a file whose afterAll timed out has only passed tests, and was once summed up as "0 failed".
 */
export function summarize(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = [], reason?: TestRunEndReason): RunSummary {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let failedSuites = 0;
  const suiteFailed = (s: TestModule | TestSuite) => s.errors().length > 0 || (s.state() === 'failed' && [...s.children.allTests('failed')].length === 0);
  for (const mod of testModules) {
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failed++;
      else skipped++;
    }
    if (suiteFailed(mod)) failedSuites++;
    for (const suite of mod.children.allSuites()) if (suite.errors().length > 0) failedSuites++;
  }
  const ok = failed === 0 && failedSuites === 0 && unhandledErrors.length === 0 && reason !== 'failed' && reason !== 'interrupted';
  return { passed, failed, skipped, failedSuites, unhandledErrors: unhandledErrors.length, ok };
}

export function summaryLine(s: RunSummary): string {
  return `tests: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped; suites failed (loading or hooks): ${s.failedSuites}; unhandled errors: ${s.unhandledErrors}; run: ${s.ok ? 'PASSED' : 'FAILED'}`;
}

/** Prints one plain closing line (see summaryLine) that CI systems read without understanding vitest's own summary. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    process.stdout.write(`\n${summaryLine(summarize(testModules, unhandledErrors, reason))}\n`);
  }
}
