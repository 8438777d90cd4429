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
export function summarize(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<unknown> = [],
  reason?: TestRunEndReason,
): RunSummary {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let failedSuites = 0;
  for (const mod of testModules) {
    let failedTests = 0;
    for (const test of mod.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failedTests++;
      else skipped++;
    }
    failed += failedTests;
    // A file or describe block with errors of its own: loading, beforeAll/afterAll.
    const withErrors = [mod as TestModule | TestSuite, ...mod.children.allSuites()].filter((s) => s.errors().length > 0).length;
    // A file vitest calls failed for a reason none of the above shows still counts once.
    failedSuites += withErrors > 0 ? withErrors : mod.state() === 'failed' && failedTests === 0 ? 1 : 0;
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
