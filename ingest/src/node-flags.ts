import { spawn } from 'node:child_process';

/**
 * Node flags ingest is started with (its start script, docker-compose.yml, bench harnesses): a larger young
 * generation, so the per-reading garbage of a batch dies young in fewer scavenges (bench/ingest/RESULTS.md).
 * V8 reads it only when the process starts: `v8.setFlagsFromString` later does not resize the heap.
 */
export const INGEST_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/** The flags of INGEST_NODE_FLAGS this process was started without (command line or NODE_OPTIONS). */
export function missingIngestNodeFlags(): string[] {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return INGEST_NODE_FLAGS.filter((f) => !given.some((g) => g === f || g.startsWith(`${f.split('=')[0]}=`)));
}

/**
 * For a process that hosts ingest without being started by its start script (a bench harness): when flags are
 * missing, runs this same command again with them and exits with its status; otherwise returns at once.
 */
export async function relaunchWithIngestNodeFlags(): Promise<void> {
  const missing = missingIngestNodeFlags();
  if (missing.length === 0) return;
  const child = spawn(process.execPath, [...missing, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  process.exit(code);
}
