/**
 * What SQLite's page cache (store config `cacheMb`) does to city-shaped writes: batches of 20,000 readings over
 * 5,200 devices, each batch touching a page of the readings' unique index per device. For each cache size, on
 * the calling thread: readings/s, CPU µs per reading, and bytes handed to write() per reading (/proc/self/io
 * wchar: WAL frames, checkpoints, and pages spilled before a commit).
 *
 *   npx tsx bench/store/page-cache.ts [--readings 900000] [--batch 20000] [--devices 5200] [--cache 2,64]
 */
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteStore } from '@tamky/store';
import { tempDir } from '@tamky/test-support';
import { measureRawWriteRate } from './raw-write';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '900000' },
    batch: { type: 'string', default: '20000' },
    devices: { type: 'string', default: '5200' },
    cache: { type: 'string', default: '2,64' },
  },
});
const readings = Number(args.readings);
const devices = Number(args.devices);

/** Bytes this process has passed to write() so far. */
const writtenBytes = (): number => Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

console.log(`readings=${readings} batch=${args.batch} devices=${devices}`);
console.log('| cacheMb | readings/s | CPU µs per reading | bytes written per reading |\n|---:|---:|---:|---:|');
for (const cacheMb of args.cache!.split(',').map(Number)) {
  const dir = tempDir('bench-page-cache');
  // The rows are folded into the rollups from each batch as it commits (part of the CPU measured); the flush of
  // those folds waits for the rollup timer, which these back-to-back writes do not let run.
  const store = new SqliteStore({ path: join(dir, 'ts.db'), synchronous: 'normal', cacheMb });
  const before = writtenBytes();
  const r = await measureRawWriteRate(store, {
    readings,
    batchSize: Number(args.batch),
    devices,
    startTs: Date.now() - Math.ceil(readings / devices) * 1000,
  });
  const bytes = writtenBytes() - before;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `| ${cacheMb} | ${Math.round(r.readingsPerSec).toLocaleString('en')} | ${((r.cpuSeconds / readings) * 1e6).toFixed(1)} | ${Math.round(bytes / readings).toLocaleString('en')} |`,
  );
}
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
