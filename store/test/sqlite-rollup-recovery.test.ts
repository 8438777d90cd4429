import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '@tamky/test-support';
import { SqliteStore } from '../src';
import { expectedRollups, storedRollups } from './rollup-check';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const HOUR = 3_600_000;
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

describe('SQLite rollups after the writer is killed', () => {
  it('SIGKILL mid-run: after a restart the rollups folded live plus those rebuilt from the raw rows equal rollups recomputed from all raw rows', async () => {
    const path = join(tempDir('store-kill'), 'ts.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/rollup-writer.ts'), path, '40'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
    // Killed while writing: some batches after the last fold, the next one possibly half written.
    await waitFor(() => /ready 45\n/.test(out) || child.exitCode !== null, { what: 'the writer to write 45 batches', timeoutMs: 60_000 });
    expect(child.exitCode, err).toBeNull();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // What the crash left: rollups folded up to the watermark, committed rows past it, rewrites not yet recomputed,
    // older readings compacted into blocks.
    const left = new Database(path, { readonly: true });
    const { watermark } = left.prepare('SELECT watermark FROM rollup_state').get() as { watermark: number };
    const { maxRowid } = left.prepare('SELECT max(rowid) AS maxRowid FROM reading').get() as { maxRowid: number };
    const rollupRowsLeft = (left.prepare('SELECT count(*) AS n FROM rollup_1m').get() as { n: number }).n;
    const blocksLeft = (left.prepare('SELECT count(*) AS n FROM reading_block').get() as { n: number }).n;
    left.close();
    expect(watermark).toBeGreaterThan(0);
    expect(rollupRowsLeft).toBeGreaterThan(0);
    expect(maxRowid).toBeGreaterThan(watermark);
    expect(blocksLeft).toBeGreaterThan(0);

    const reader = new SqliteStore({ path, synchronous: 'normal' }, { readonly: true });
    open.push(reader);
    const query = (s: SqliteStore) =>
      Promise.all(
        ['air_station', 'noise_meter'].flatMap((kind) =>
          [60_000, HOUR].map((windowMs) => s.query({ kind, fields: ['a', 'b'], from: T0, to: T0 + 48 * HOUR, windowMs, aggregate: 'sum' })),
        ),
      );
    // A reader sees exact windows even before the restarted writer catches up.
    const beforeRecovery = await query(reader);

    const writer = new SqliteStore({ path, synchronous: 'normal' });
    open.push(writer);
    writer.catchUpRollups();
    expect(storedRollups(writer, 'rollup_1m')).toEqual(expectedRollups(writer, 60_000));
    expect(storedRollups(writer, 'rollup_1h')).toEqual(expectedRollups(writer, HOUR));
    expect(writer.db.prepare('SELECT count(*) AS n FROM rollup_dirty').get()).toEqual({ n: 0 });
    expect(await query(writer)).toEqual(beforeRecovery);
    expect(beforeRecovery.flat().length).toBeGreaterThan(0);
  });
});
