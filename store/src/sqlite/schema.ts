import type Database from 'better-sqlite3';

/**
 * 2: the (gateway, ts, seq) index on readings replaced by the small gateway_device table; derived series
 * (seq < 0) keep no rollups, their hourly rows are their history.
 * 3: rollups maintained from the raw rows after they are committed (rollup_state, rollup_dirty).
 */
export const SCHEMA_VERSION = 3;

/** Rollup resolutions kept on write, coarsest first (queries pick the first that divides the window). */
export const ROLLUPS = [
  { table: 'rollup_1h', ms: 3_600_000 },
  { table: 'rollup_1m', ms: 60_000 },
] as const;
export type RollupTable = (typeof ROLLUPS)[number]['table'];

/**
 * Readings: one row per reading, its values as a JSON object, so a reading of 4 fields is one row
 * insert instead of four (cheaper: bench/store/RESULTS.md). A rowid table with a UNIQUE
 * (kind, device, ts) index: new rows append at the end of the table and only the compact index is
 * inserted into in key order, less CPU than a WITHOUT ROWID table clustered on the key (bench/store). Range
 * queries pay a rowid lookup per row instead; long ranges are served by the rollups anyway.
 * Rollups: small rows, upserted by key, so they are WITHOUT ROWID (one B-tree instead of two).
 */
const rollupTable = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  kind TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL, bucket INTEGER NOT NULL,
  ward TEXT NOT NULL, count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
  last REAL NOT NULL, last_ts INTEGER NOT NULL,
  PRIMARY KEY (kind, device, field, bucket)
) WITHOUT ROWID;`;

export function createSchema(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  db.exec(`
CREATE TABLE IF NOT EXISTS reading (
  kind TEXT NOT NULL, device TEXT NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, ward TEXT NOT NULL, seq INTEGER NOT NULL, vals TEXT NOT NULL,
  UNIQUE (kind, device, ts)
);
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
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
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
