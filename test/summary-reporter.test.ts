import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = 'test/fixtures/summary-reporter/vitest.config.ts';
const VITEST = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

/** Runs the real vitest with the real summary reporter over the named fixture files; its closing line and exit code. */
function runFixtures(...files: string[]): Promise<{ line: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [VITEST, 'run', '--config', CONFIG, ...files],
      { cwd: ROOT, timeout: 120_000, env: { ...process.env, CI: '1', NO_COLOR: '1' } },
      (err, stdout) => {
        const line = stdout.split('\n').find((l) => l.startsWith('tests: '));
        if (!line) return reject(new Error(`no summary line in:\n${stdout}`));
        resolve({ line, code: err ? Number((err as { code?: number }).code ?? 1) : 0 });
      },
    );
  });
}

describe('summary reporter', () => {
  it('calls a run whose only failure is an afterAll that timed out FAILED, counting the suite', async () => {
    const r = await runFixtures('after-all-timeout');
    expect(r.line).toBe('tests: 1 passed, 0 failed, 0 skipped; suites failed (loading or hooks): 1; unhandled errors: 0; run: FAILED');
    expect(r.code).not.toBe(0);
  });

  it('counts a file-level afterAll that throws', async () => {
    const r = await runFixtures('module-hook');
    expect(r.line).toBe('tests: 1 passed, 0 failed, 0 skipped; suites failed (loading or hooks): 1; unhandled errors: 0; run: FAILED');
  });

  it('counts failed tests, files that do not load, hooks and unhandled errors together, each failure once', async () => {
    const r = await runFixtures();
    expect(r.line).toBe('tests: 4 passed, 1 failed, 1 skipped; suites failed (loading or hooks): 3; unhandled errors: 1; run: FAILED');
  });

  it('calls a clean run PASSED, skipped tests included', async () => {
    const r = await runFixtures('passing');
    expect(r.line).toBe('tests: 1 passed, 0 failed, 1 skipped; suites failed (loading or hooks): 0; unhandled errors: 0; run: PASSED');
    expect(r.code).toBe(0);
  });
});
