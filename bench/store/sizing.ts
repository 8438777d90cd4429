/**
 * Storage sizing: the same N readings written to SQLite (the embedded store) and to InfluxDB 1.6.7, then bytes
 * on disk per reading per store (and per rollup row for SQLite), and a sizing table (devices × interval ×
 * retention → disk, per store) written into store/README.md between the `sizing` markers.
 *
 *   npx tsx bench/store/sizing.ts [--devices 200] [--per-device 2000] [--fields 4] [--interval-s 1]
 *
 * SQLite: pages per table from `dbstat` after the rollups are folded and the WAL checkpointed: the hot reading
 * table and its unique index per reading, then again once every reading is compacted into blocks (VACUUMed, as a
 * long-running file reuses the freed pages), each rollup table per row; repeated at 30, 60 and 300 s intervals,
 * since a block holds a device's hour. CPU µs per reading written, folded into the rollups and compacted, apart. InfluxDB: the TSM files of the database
 * once the cache has been snapshotted (`cache-snapshot-write-cold-duration` 1 s) and compacted; its index and
 * series file are reported apart (a fixed overhead per series, not per reading), CPU µs per reading written (the
 * client in this process plus the server's own CPU from /proc).
 * Appends a dated section to bench/store/RESULTS.md.
 */
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { openStore, retentionSchema, SqliteStore } from '@tamky/store';
import { startInfluxd, tempDir, waitFor } from '@tamky/test-support';
import { processCpuMs } from '../support/proc-cpu';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '200' },
    'per-device': { type: 'string', default: '2000' },
    fields: { type: 'string', default: '4' },
    'interval-s': { type: 'string', default: '1' },
  },
});
const DEVICES = Number(args.devices);
const PER_DEVICE = Number(args['per-device']);
const FIELDS = Number(args.fields);
const INTERVAL_MS = Number(args['interval-s']) * 1000;
const N = DEVICES * PER_DEVICE;
const REPO = join(import.meta.dirname, '..', '..');
const T0 = Math.floor((Date.now() - 30 * 86_400_000) / 3_600_000) * 3_600_000;

/** Readings in time order, all devices at each instant, as ingest writes them; values like a sensor's (one decimal). */
function* batches(size: number, intervalMs = INTERVAL_MS): Generator<StoredReading[]> {
  let batch: StoredReading[] = [];
  let seq = 0;
  for (let k = 0; k < PER_DEVICE; k++) {
    for (let d = 0; d < DEVICES; d++) {
      // A gateway numbers its readings across its devices, as the edge's outbox does.
      seq++;
      const values: Record<string, number> = {};
      for (let f = 0; f < FIELDS; f++) values[`f${f}`] = Math.round((20 + 10 * Math.sin((k + d * 7 + f) / 50) + Math.random()) * 10) / 10;
      batch.push({
        kind: 'air_station',
        device: `dev-${String(d).padStart(5, '0')}`,
        gateway: `gw-${d % 52}`,
        ward: `ward-${d % 13}`,
        ts: T0 + k * intervalMs,
        seq,
        values,
      });
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

async function writeAll(store: TimeSeriesStore, intervalMs = INTERVAL_MS): Promise<{ seconds: number; cpuUsPerReading: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const b of batches(5000, intervalMs)) await store.writeBatch(b);
  const cpu = process.cpuUsage(cpu0);
  return { seconds: (performance.now() - t0) / 1000, cpuUsPerReading: (cpu.user + cpu.system) / N };
}

interface SqliteSize {
  /** Hot rows (the last hour or two): a row and its unique index entry. */
  hotBytesPerReading: number;
  /** Compacted into blocks (everything older). */
  bytesPerReading: number;
  bytesPerMinuteRow: number;
  bytesPerHourRow: number;
  minuteRows: number;
  hourRows: number;
  fileBytes: number;
  /** writeBatch alone. */
  writeCpuUsPerReading: number;
  /** Folding the rows into the minute and hourly rollups. */
  rollupCpuUsPerReading: number;
  compactCpuUsPerReading: number;
}

const cpuUs = (c: NodeJS.CpuUsage) => (c.user + c.system) / N;

async function sqliteSize(intervalMs = INTERVAL_MS): Promise<SqliteSize> {
  const path = join(tempDir('bench-sizing-sqlite'), 'ts.db');
  const store = new SqliteStore({
    path,
    synchronous: 'normal',
    // Folded and compacted by hand below, each measured on its own.
    rollupIntervalMs: 2 ** 30,
    retention: { rawDays: 3650, minuteDays: 3650, hourDays: 3650, intervalMs: 2 ** 30 },
  });
  const { cpuUsPerReading: writeCpuUsPerReading } = await writeAll(store, intervalMs);
  let cpu0 = process.cpuUsage();
  store.catchUpRollups();
  const rollupCpuUsPerReading = cpuUs(process.cpuUsage(cpu0));
  const pages = () => {
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    return new Map(
      (store.db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as Array<{ name: string; bytes: number }>).map(
        (r) => [r.name, r.bytes],
      ),
    );
  };
  const hot = pages();
  const hotBytes = (hot.get('reading') ?? 0) + (hot.get('sqlite_autoindex_reading_1') ?? 0);
  cpu0 = process.cpuUsage();
  const compacted = store.compact();
  const compactCpuUsPerReading = cpuUs(process.cpuUsage(cpu0));
  if (compacted !== N) throw new Error(`compacted ${compacted} of ${N} readings`);
  store.db.exec('VACUUM'); // the hot rows' pages freed by compaction, as a long-running file reuses them
  const after = pages();
  const count = (t: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  const blockBytes = (after.get('reading_block') ?? 0) + (after.get('reading') ?? 0) + (after.get('sqlite_autoindex_reading_1') ?? 0);
  const minuteRows = count('rollup_1m');
  const hourRows = count('rollup_1h');
  const result = {
    hotBytesPerReading: hotBytes / N,
    bytesPerReading: blockBytes / N,
    bytesPerMinuteRow: (after.get('rollup_1m') ?? 0) / minuteRows,
    bytesPerHourRow: (after.get('rollup_1h') ?? 0) / hourRows,
    minuteRows,
    hourRows,
    fileBytes: statSync(path).size,
    writeCpuUsPerReading,
    rollupCpuUsPerReading,
    compactCpuUsPerReading,
  };
  await store.close();
  return result;
}

function filesUnder(dir: string): Array<{ path: string; bytes: number }> {
  const out: Array<{ path: string; bytes: number }> = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push({ path: p, bytes: statSync(p).size });
  }
  return out;
}

interface InfluxSize {
  tsmBytesPerReading: number;
  indexBytes: number;
  cpuUsPerReading: number;
  serverCpuUsPerReading: number;
}

async function influxSize(): Promise<InfluxSize> {
  const influx = await startInfluxd({
    data: { 'cache-snapshot-write-cold-duration': '"1s"', 'compact-full-write-cold-duration': '"2s"' },
  });
  try {
    const store = await openStore({ type: 'influxdb', api: 'v1', url: influx.url, database: 'sizing', timeoutMs: 60_000 });
    const server0 = processCpuMs(influx.child.pid!);
    const { cpuUsPerReading } = await writeAll(store);
    const serverCpuUsPerReading = ((processCpuMs(influx.child.pid!) - server0) * 1000) / N;
    await store.close();
    const dbDir = join(influx.dir, 'data', 'sizing');
    const walBytes = () => filesUnder(join(influx.dir, 'wal')).reduce((n, f) => n + (f.path.endsWith('.wal') ? f.bytes : 0), 0);
    const tsmBytes = () => filesUnder(dbDir).reduce((n, f) => n + (f.path.endsWith('.tsm') ? f.bytes : 0), 0);
    // Snapshotted when the WAL is empty; compacted when the TSM bytes stop changing.
    let last = -1;
    await waitFor(
      () => {
        const now = tsmBytes();
        const settled = walBytes() === 0 && now > 0 && now === last;
        last = now;
        return settled;
      },
      { what: 'influxd to snapshot and compact its cache into TSM files', timeoutMs: 180_000, intervalMs: 3000 },
    );
    const all = filesUnder(dbDir);
    return {
      tsmBytesPerReading: tsmBytes() / N,
      indexBytes: all.reduce((n, f) => n + (f.path.endsWith('.tsm') ? 0 : f.bytes), 0),
      cpuUsPerReading,
      serverCpuUsPerReading,
    };
  } finally {
    await influx.stop();
  }
}

const sqlite = await sqliteSize();
console.log(JSON.stringify({ sqlite }));
// Blocks hold a device's hour: fewer readings each at longer intervals, so bytes per reading per table interval.
const TABLE_INTERVALS_S = [30, 60, 300];
const sqliteAt = new Map<number, SqliteSize>();
for (const intervalS of TABLE_INTERVALS_S) {
  const size = intervalS * 1000 === INTERVAL_MS ? sqlite : await sqliteSize(intervalS * 1000);
  sqliteAt.set(intervalS, size);
  console.log(JSON.stringify({ intervalS, bytesPerReading: size.bytesPerReading }));
}
const influx = await influxSize();
console.log(JSON.stringify({ influx }));

// The sizing table: raw readings for rawDays (the last two hours hot, the rest in blocks), minute rollups (one row
// per device, field and minute with a reading) for minuteDays, hourly rollups for hourDays; InfluxDB keeps raw
// points for the same rawDays.
const defaults = retentionSchema.parse({});
const DAY_S = 86_400;
const HOT_S = 2 * 3600;
const GB = 1e9;
function sqliteDisk(devices: number, intervalS: number, r: { rawDays: number; minuteDays: number; hourDays: number }): number {
  const readingsPerDay = (devices * DAY_S) / intervalS;
  const minuteRowsPerDay = devices * FIELDS * Math.min(1440, DAY_S / intervalS);
  const hourRowsPerDay = devices * FIELDS * Math.min(24, DAY_S / intervalS);
  const hotReadings = (devices * HOT_S) / intervalS;
  return (
    (readingsPerDay * r.rawDays - hotReadings) * sqliteAt.get(intervalS)!.bytesPerReading +
    hotReadings * sqlite.hotBytesPerReading +
    minuteRowsPerDay * r.minuteDays * sqlite.bytesPerMinuteRow +
    hourRowsPerDay * r.hourDays * sqlite.bytesPerHourRow
  );
}
const influxDisk = (devices: number, intervalS: number, rawDays: number) =>
  ((devices * DAY_S) / intervalS) * rawDays * influx.tsmBytesPerReading;
const gb = (b: number) => (b / GB >= 100 ? (b / GB).toFixed(0) : (b / GB).toFixed(1));
const profiles = [
  { name: `defaults (raw ${defaults.rawDays} d, minute ${defaults.minuteDays} d, hour ${defaults.hourDays} d)`, ...defaults },
  { name: 'raw 30 d, minute 30 d, hour 730 d', rawDays: 30, minuteDays: 30, hourDays: 730 },
  { name: 'raw 30 d, minute 400 d, hour 3650 d (before issue #19)', rawDays: 30, minuteDays: 400, hourDays: 3650 },
];
const rows: string[] = [];
for (const devices of [1000, 5200, 20_800])
  for (const intervalS of TABLE_INTERVALS_S)
    for (const p of profiles)
      rows.push(
        `| ${devices.toLocaleString('en')} | ${intervalS} s | ${p.name} | ${gb(sqliteDisk(devices, intervalS, p))} | ${gb(influxDisk(devices, intervalS, p.rawDays))} |`,
      );
const cmd = `npx tsx bench/store/sizing.ts --devices ${DEVICES} --per-device ${PER_DEVICE} --fields ${FIELDS} --interval-s ${INTERVAL_MS / 1000}`;
const measured = [
  `Measured by \`${cmd}\` (${new Date().toISOString().slice(0, 10)}): ${N.toLocaleString('en')} readings of ${FIELDS} values, ${DEVICES} devices, ${INTERVAL_MS / 1000} s apart.`,
  '',
  '| store | bytes per reading | per minute rollup row | per hourly rollup row | CPU µs per reading |',
  '| --- | ---: | ---: | ---: | ---: |',
  `| SQLite, compacted blocks | ${sqlite.bytesPerReading.toFixed(1)} | ${sqlite.bytesPerMinuteRow.toFixed(1)} | ${sqlite.bytesPerHourRow.toFixed(1)} | ${sqlite.writeCpuUsPerReading.toFixed(1)} written + ${sqlite.rollupCpuUsPerReading.toFixed(1)} rollups folded + ${sqlite.compactCpuUsPerReading.toFixed(1)} compacted |`,
  `| SQLite, hot rows (the last 1–2 h: row + unique index) | ${sqlite.hotBytesPerReading.toFixed(1)} | | | |`,
  `| InfluxDB 1.6.7 (TSM files; index and series file ${(influx.indexBytes / 1e6).toFixed(1)} MB apart) | ${influx.tsmBytesPerReading.toFixed(1)} | — | — | ${influx.cpuUsPerReading.toFixed(1)} client + ${influx.serverCpuUsPerReading.toFixed(1)} server |`,
  '',
  `SQLite (compacted) / InfluxDB bytes per reading: ${(sqlite.bytesPerReading / influx.tsmBytesPerReading).toFixed(2)}×. SQLite compacted at the table's intervals (same data, ${PER_DEVICE.toLocaleString('en')} readings per device): ${TABLE_INTERVALS_S.map((i) => `${i} s ${sqliteAt.get(i)!.bytesPerReading.toFixed(1)} B`).join(', ')} per reading.`,
  '',
  `Disk in GB (10⁹ bytes), ${FIELDS} values per reading, a reading per device every interval. SQLite: raw readings (the last 2 h hot, older ones compacted, bytes per reading measured at that interval) + minute and hourly rollups; InfluxDB: raw points for the same raw days (its downsampled hours not counted). Free space for WAL and checkpoints comes on top.`,
  '',
  '| devices | interval | retention | SQLite GB | InfluxDB GB |',
  '| ---: | ---: | --- | ---: | ---: |',
  ...rows,
].join('\n');

const readmePath = join(REPO, 'store', 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const START = '<!-- sizing:start (written by bench/store/sizing.ts) -->';
const END = '<!-- sizing:end -->';
const at = readme.indexOf(START);
const end = readme.indexOf(END);
if (at < 0 || end < at) throw new Error(`store/README.md: markers ${START} … ${END} not found`);
writeFileSync(readmePath, `${readme.slice(0, at + START.length)}\n${measured}\n${readme.slice(end)}`);
appendFileSync(
  join(import.meta.dirname, 'RESULTS.md'),
  `\n## ${new Date().toISOString()} — \`${cmd}\`\nMachine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine).\n\n${measured}\n`,
);
console.log(measured);
