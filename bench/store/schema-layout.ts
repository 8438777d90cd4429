/** Compares SQLite row layouts for raw readings (no rollups): why store/ keeps one row per reading with JSON values. npx tsx bench/store/schema-layout.ts */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
const N = 100_000,
  B = 1000,
  F = 4,
  D = 200;
const start = Date.now() - 10 * 86400000;
const rows = Array.from({ length: N }, (_, i) => ({
  device: `dev-${i % D}`,
  ts: start + Math.floor(i / D) * 1000,
  seq: i,
  values: Object.fromEntries(Array.from({ length: F }, (_, f) => [`f${f}`, 20 + f + Math.sin(i)])),
}));
function run(name: string, ddl: string, insertSql: string, bind: (s: Database.Statement, r: (typeof rows)[0]) => void) {
  const db = new Database(join(mkdtempSync(join(tmpdir(), 'lay-')), 'x.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(ddl);
  const st = db.prepare(insertSql);
  const tx = db.transaction((b: typeof rows) => {
    for (const r of b) bind(st, r);
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i += B) tx(rows.slice(i, i + B));
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  // Per CPU second as well: on a shared, loaded machine wall time mostly measures the neighbours.
  console.log(
    `${name}: ${Math.round(N / s)} readings/s wall, ${Math.round(N / cpu)} readings per CPU s, ${Math.round((N * F) / cpu)} values per CPU s`,
  );
  db.close();
}
run(
  'json row, no idx',
  'CREATE TABLE r (kind TEXT, device TEXT, ts INTEGER, gateway TEXT, ward TEXT, seq INTEGER, vals TEXT, PRIMARY KEY(kind,device,ts)) WITHOUT ROWID',
  'INSERT OR IGNORE INTO r VALUES (?,?,?,?,?,?,?)',
  (s, r) => s.run('bench', r.device, r.ts, 'gw-1', 'w', r.seq, JSON.stringify(r.values)),
);
run(
  'json row + gw idx',
  'CREATE TABLE r (kind TEXT, device TEXT, ts INTEGER, gateway TEXT, ward TEXT, seq INTEGER, vals TEXT, PRIMARY KEY(kind,device,ts)) WITHOUT ROWID; CREATE INDEX g ON r(gateway, ts, seq)',
  'INSERT OR IGNORE INTO r VALUES (?,?,?,?,?,?,?)',
  (s, r) => s.run('bench', r.device, r.ts, `gw-${r.seq % 10}`, 'w', r.seq, JSON.stringify(r.values)),
);
run(
  'json row rowid table + unique',
  'CREATE TABLE r (kind TEXT, device TEXT, ts INTEGER, gateway TEXT, ward TEXT, seq INTEGER, vals TEXT, UNIQUE(kind,device,ts)); CREATE INDEX g ON r(gateway, ts, seq)',
  'INSERT OR IGNORE INTO r VALUES (?,?,?,?,?,?,?)',
  (s, r) => s.run('bench', r.device, r.ts, `gw-${r.seq % 10}`, 'w', r.seq, JSON.stringify(r.values)),
);
run(
  'json row rowid table + unique, no gw idx (schema 2)',
  'CREATE TABLE r (kind TEXT, device TEXT, ts INTEGER, gateway TEXT, ward TEXT, seq INTEGER, vals TEXT, UNIQUE(kind,device,ts))',
  'INSERT OR IGNORE INTO r VALUES (?,?,?,?,?,?,?)',
  (s, r) => s.run('bench', r.device, r.ts, `gw-${r.seq % 10}`, 'w', r.seq, JSON.stringify(r.values)),
);
run(
  'row per point',
  'CREATE TABLE p (kind TEXT, device TEXT, field TEXT, ts INTEGER, value REAL, PRIMARY KEY(kind,device,field,ts)) WITHOUT ROWID',
  'INSERT OR IGNORE INTO p VALUES (?,?,?,?,?)',
  (s, r) => {
    for (const f in r.values) s.run('bench', r.device, f, r.ts, r.values[f]);
  },
);
