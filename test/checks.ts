/**
 * `npm run checks`: the static checks `npm test` runs before vitest (typecheck, lint, format:check,
 * build:web). They share no output and each is mostly one busy thread, so they run side by side: on a
 * machine with two or more cores the wall time is about the longest one's, not their sum. Each check's
 * output is printed whole, in the order above, once it ends; the exit status is non-zero if any failed.
 */
import { spawn } from 'node:child_process';

// `npm run checks -- lint typecheck` runs only those.
const CHECKS = process.argv.length > 2 ? process.argv.slice(2) : ['typecheck', 'lint', 'format:check', 'build:web'];

interface Outcome {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

function run(name: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    // One stream for stdout and stderr, in the order written, as a terminal would show it.
    const child = spawn('npm', ['run', '--silent', name], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (err) => resolve({ name, code: 1, signal: null, output: `${output}\n${String(err)}`, ms: Date.now() - started }));
    child.on('close', (code, signal) => resolve({ name, code, signal, output, ms: Date.now() - started }));
  });
}

const started = Date.now();
const outcomes = await Promise.all(CHECKS.map(run));
for (const o of outcomes) {
  const ok = o.code === 0;
  console.log(`\n── ${o.name}: ${ok ? 'ok' : `FAILED (${o.signal ?? `exit ${o.code}`})`} in ${(o.ms / 1000).toFixed(1)} s ──`);
  if (o.output.trim()) console.log(o.output.trimEnd());
}
const failed = outcomes.filter((o) => o.code !== 0).map((o) => o.name);
console.log(
  `\nchecks: ${failed.length ? `FAILED: ${failed.join(', ')}` : 'all passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exitCode = failed.length ? 1 : 0;
