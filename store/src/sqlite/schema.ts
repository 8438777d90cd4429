import type Database from 'better-sqlite3';

/**
 * 2: the (gateway, ts, seq) index on readings replaced by the small gateway_device table; derived series
 * (seq < 0) keep no rollups, their hourly rows are their history.
 * 3: rollups maintained from the raw rows after they are committed (rollup_state, rollup_dirty).
 * 4: a reading's identity is who produced it, (kind, device, gateway, seq), not its timestamp; cold rows compacted
 * into per-device blocks (reading_block); derived values (seq < 0, keyed by their hour) in a table of their own.
 */
export const SCHEMA_VERSION = 4;

/** Span of one block of compacted readings (reading_block.start is a multiple of it). */
export const BLOCK_MS = 3_600_000;

/** Rollup resolutions kept on write, coarsest first (queries pick the first that divides the window). */
export const ROLLUPS = [
  { table: 'rollup_1h', ms: 3_600_000 },
  { table: 'rollup_1m', ms: 60_000 },
] as const;
export type RollupTable = (typeof ROLLUPS)[number]['table'];

/**
 * Hot readings (the last hour or two, and late arrivals): one row per reading, its values as a JSON object, so a
 * reading of 4 fields is one row insert instead of four (cheaper: bench/store/RESULTS.md). A rowid table with a
 * UNIQUE index on the reading's identity (kind, device, gateway, seq): new rows append at the end of the table and
 * only the compact index is inserted into in key order, less CPU than a WITHOUT ROWID table clustered on the key
 * (bench/store). A gateway numbers its readings across all its devices, so (gateway, seq) alone would do for real
 * data; the device in the key keeps blocks per device and tolerates producers that number per device.
 * Cold readings: once folded into the rollups and out of the hot window, compactor.ts moves them into one
 * compressed block per device and hour (block-codec.ts), a few bytes a reading instead of a row and an index entry.
 * Rollups: small rows, upserted by key, so they are WITHOUT ROWID (one B-tree instead of two).
 */
const rollupTable = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  kind TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL, bucket INTEGER NOT NULL,
  ward TEXT NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
  last REAL NOT NULL, last_ts INTEGER NOT NULL,
  PRIMARY KEY (kind, device, field, bucket)
) WITHOUT ROWID;`;

const HOT_TABLE = `CREATE TABLE IF NOT EXISTS reading (
  kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, ward TEXT NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL,
  UNIQUE (kind, device, gateway, seq)
);`;

export function createSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  db.exec(`
${HOT_TABLE}
-- Cold readings of one device, BLOCK_MS each (start: a multiple of it); seq_min/seq_max find a rewrite's block.
CREATE TABLE IF NOT EXISTS reading_block (
  kind TEXT NOT NULL, device TEXT NOT NULL, start INTEGER NOT NULL,
  n INTEGER NOT NULL, seq_min INTEGER NOT NULL, seq_max INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (kind, device, start)
) WITHOUT ROWID;
-- Highest seq compacted per device and gateway: a write above it cannot be in a block, so only a redelivery of a
-- compacted reading (at or below it) is looked up in the blocks.
CREATE TABLE IF NOT EXISTS compacted_seq (
  kind TEXT NOT NULL, device TEXT NOT NULL, gateway TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (kind, device, gateway)
) WITHOUT ROWID;
-- Clock marks (protocol readingSchema clock) of the few readings that carry one, beside the readings (hot rows
-- and blocks alike) rather than in them: most readings have none. Keyed like the readings, found by time.
CREATE TABLE IF NOT EXISTS reading_clock (
  kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL, gateway TEXT NOT NULL, seq INTEGER NOT NULL,
  mark TEXT NOT NULL,
  PRIMARY KEY (kind, device, ts, gateway, seq)
) WITHOUT ROWID;
-- Derived values (seq < 0: ingest's hourly values, rewritten while their hour runs): keyed by their hour.
CREATE TABLE IF NOT EXISTS derived (
  kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, ward TEXT NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL,
  PRIMARY KEY (kind, device, ts)
) WITHOUT ROWID;
-- loss checking: which devices a gateway has sent readings of; their seqs are then read per device through
-- the unique index. One row per (gateway, device) instead of an index entry per reading (≈ 10 % of the
-- write cost, bench/store/RESULTS.md); loss checks are rare, writes are not.
CREATE TABLE IF NOT EXISTS gateway_device (
  gateway TEXT NOT NULL, kind TEXT NOT NULL, device TEXT NOT NULL,
  PRIMARY KEY (gateway, kind, device)
) WITHOUT ROWID;
-- newest reading per device: serves latest(), and lists the devices a query or the retention sweep walks
CREATE TABLE IF NOT EXISTS latest (
  kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, ward TEXT NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL,
  PRIMARY KEY (kind, device)
) WITHOUT ROWID;
${rollupTable('rollup_1m')}
${rollupTable('rollup_1h')}
CREATE TABLE IF NOT EXISTS dead_letter (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, topic TEXT NOT NULL, gateway TEXT, device TEXT,
  reason TEXT NOT NULL, raw TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letter_ts ON dead_letter (ts);
-- Rollups are folded from the raw rows after they are committed (rollup-maintainer.ts): every reading row whose
-- rowid is at most the watermark is counted in them (retention lowers it when it deletes the newest rows).
CREATE TABLE IF NOT EXISTS rollup_state (id INTEGER PRIMARY KEY CHECK (id = 1), watermark INTEGER NOT NULL);
-- A reading rewritten with other content: the windows holding its ts are recomputed from the raw rows.
-- Per source ('raw', 'rollup_1m', 'rollup_1h'): the retention sweep's latest cutoff, everything older is gone.
-- Queries read older parts of a range from a coarser source that still holds them (history-reader.ts).
CREATE TABLE IF NOT EXISTS retention_cutoff (source TEXT PRIMARY KEY, cutoff INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_dirty (
  kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY (kind, device, ts)
) WITHOUT ROWID;
`);
  if (version === 1) upgradeFrom1(db);
  // A file from before schema 3 had its rollups maintained with each batch: all its rows are counted.
  db.exec('INSERT OR IGNORE INTO rollup_state (id, watermark) SELECT 1, coalesce(max(rowid), 0) FROM reading');
  if (keyedByTime(db)) upgradeTo4(db);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** A reading table from before schema 4: UNIQUE (kind, device, ts). */
function keyedByTime(db: Database.Database): boolean {
  const sql = db.prepare<[], string>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'reading'").pluck().get() ?? '';
  return /UNIQUE\s*\(\s*kind\s*,\s*device\s*,\s*ts\s*\)/i.test(sql);
}

/**
 * Schema 4: the reading table rebuilt with its new key, rowids kept (the rollups' watermark counts by rowid).
 * Derived rows move to their own table. Two rows of one (kind, device, gateway, seq) under different timestamps
 * were two readings before and are one now: the later written is kept and the other's windows are recomputed
 * (rollup_dirty). Old rows become blocks by the compactor's normal course.
 */
function upgradeTo4(db: Database.Database): void {
  db.transaction(() => {
    db.exec('ALTER TABLE reading RENAME TO reading_v3');
    db.exec(HOT_TABLE);
    db.exec(
      'INSERT OR REPLACE INTO derived (kind, device, ts, gateway, ward, seq, vals) SELECT kind, device, ts, gateway, ward, seq, vals FROM reading_v3 WHERE seq < 0',
    );
    db.exec(`INSERT OR REPLACE INTO reading (rowid, kind, device, ts, gateway, ward, seq, vals)
      SELECT rowid, kind, device, ts, gateway, ward, seq, vals FROM reading_v3 WHERE seq >= 0 ORDER BY rowid`);
    db.exec(`INSERT OR IGNORE INTO rollup_dirty (kind, device, ts)
      SELECT kind, device, ts FROM reading_v3 WHERE seq >= 0 AND rowid NOT IN (SELECT rowid FROM reading)`);
    db.exec('DROP TABLE reading_v3');
    // New rows take max(rowid) + 1: with derived rows gone that could be at or below the watermark.
    db.exec('UPDATE rollup_state SET watermark = min(watermark, (SELECT coalesce(max(rowid), 0) FROM reading))');
  })();
}

function upgradeFrom1(db: Database.Database): void {
  db.transaction(() => {
    db.exec('INSERT OR IGNORE INTO gateway_device (gateway, kind, device) SELECT DISTINCT gateway, kind, device FROM reading');
    db.exec('DROP INDEX IF EXISTS reading_gateway_ts');
    // Derived series' hours whose raw rows retention already removed live on in the hourly rollup: back to rows
    // (a derived reading's ts is its hour, so bucket = ts), then their rollups go.
    db.exec(`INSERT OR IGNORE INTO reading (kind, device, ts, gateway, ward, seq, vals)
      SELECT r.kind, r.device, r.bucket, l.gateway, max(r.ward), -1, json_group_object(r.field, r.last)
      FROM rollup_1h r JOIN latest l ON l.kind = r.kind AND l.device = r.device
      WHERE l.seq < 0 GROUP BY r.kind, r.device, r.bucket`);
    for (const table of ['rollup_1m', 'rollup_1h'])
      db.exec(`DELETE FROM ${table} WHERE (kind, device) IN (SELECT kind, device FROM latest WHERE seq < 0)`);
  })();
}
