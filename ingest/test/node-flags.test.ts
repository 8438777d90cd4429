import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir } from '@tamky/test-support';
import { INGEST_NODE_FLAGS } from '../src/node-flags';

const root = join(import.meta.dirname, '../..');

/** The young-generation size ingest's throughput depends on is set where it starts, never left to the user. */
describe("ingest's node flags", () => {
  it('are in its start scripts and in docker-compose.yml', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'ingest/package.json'), 'utf8')).scripts as Record<string, string>;
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    for (const flag of INGEST_NODE_FLAGS) {
      expect(scripts.start).toContain(flag);
      expect(scripts['start:dev']).toContain(flag);
      expect(compose.services.ingest!.environment!.NODE_OPTIONS).toContain(flag);
    }
  });

  it('a harness hosting ingest reruns itself with them, passing its arguments and exit status through', () => {
    const dir = tempDir('node-flags');
    const script = join(dir, 'host.mts');
    writeFileSync(
      script,
      `import { relaunchWithIngestNodeFlags } from ${JSON.stringify(join(root, 'ingest/src/node-flags.ts'))};\n` +
        `await relaunchWithIngestNodeFlags();\n` +
        `console.log(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2) }));\n` +
        `process.exitCode = 3;\n`,
    );
    let out = '';
    try {
      execFileSync(process.execPath, ['--import', 'tsx', script, '--x', 'y'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      });
    } catch (err) {
      const e = err as { status: number; stdout: string };
      expect(e.status).toBe(3);
      out = e.stdout;
    }
    const lines = out.trim().split('\n');
    // Printed once: by the rerun, not by the process that started it.
    expect(lines).toHaveLength(1);
    const seen = JSON.parse(lines[0]!) as { execArgv: string[]; argv: string[] };
    for (const flag of INGEST_NODE_FLAGS) expect(seen.execArgv).toContain(flag);
    expect(seen.argv).toEqual(['--x', 'y']);
  });
});
