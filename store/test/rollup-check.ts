import type Database from 'better-sqlite3';

// What every rollup row must be, recomputed from the raw rows alone, and what the store holds.
type Agg = { count: number; sum: number; min: number; max: number; last: number; last_ts: number };

export function expectedRollups(s: { db: Database.Database }, ms: number): Map<string, Agg> {
  const out = new Map<string, Agg>();
  const rows = s.db.prepare('SELECT kind, device, ts, vals FROM reading WHERE seq >= 0 ORDER BY ts').all() as Array<{
    kind: string;
    device: string;
    ts: number;
    vals: string;
  }>;
  for (const r of rows) {
    for (const [field, v] of Object.entries(JSON.parse(r.vals) as Record<string, number>)) {
      const key = `${r.kind}|${r.device}|${field}|${Math.floor(r.ts / ms) * ms}`;
      const a = out.get(key);
      if (!a) out.set(key, { count: 1, sum: v, min: v, max: v, last: v, last_ts: r.ts });
      else {
        a.count++;
        a.sum += v;
        a.min = Math.min(a.min, v);
        a.max = Math.max(a.max, v);
        if (r.ts >= a.last_ts) Object.assign(a, { last: v, last_ts: r.ts });
      }
    }
  }
  return out;
}

export function storedRollups(s: { db: Database.Database }, table: string): Map<string, Agg> {
  const rows = s.db.prepare(`SELECT kind, device, field, bucket, count, sum, min, max, last, last_ts FROM ${table}`).all() as Array<
    Agg & { kind: string; device: string; field: string; bucket: number }
  >;
  return new Map(rows.map(({ kind, device, field, bucket, ...agg }) => [`${kind}|${device}|${field}|${bucket}`, agg]));
}
