import type Database from 'better-sqlite3';
import { decodeBlock } from '../src/sqlite/block-codec';

export interface StoredRow {
  kind: string;
  device: string;
  ts: number;
  gateway: string;
  ward: string;
  seq: number;
  values: Record<string, number>;
}

/** Every reading in the file, wherever it lives (hot rows, compacted blocks, derived rows), sorted. */
export function storedReadings(s: { db: Database.Database }): StoredRow[] {
  type Hot = Omit<StoredRow, 'values'> & { vals: string };
  const hot = (table: string) =>
    (s.db.prepare(`SELECT kind, device, ts, gateway, ward, seq, vals FROM ${table}`).all() as Hot[]).map(({ vals, ...r }) => ({
      ...r,
      values: JSON.parse(vals) as Record<string, number>,
    }));
  const blocks = (
    s.db.prepare('SELECT kind, device, data FROM reading_block').all() as Array<{ kind: string; device: string; data: Buffer }>
  ).flatMap(({ kind, device, data }) => decodeBlock(data).map((r) => ({ kind, device, ...r })));
  return [...hot('reading'), ...blocks, ...hot('derived')].sort(
    (a, b) =>
      a.kind.localeCompare(b.kind) ||
      a.device.localeCompare(b.device) ||
      a.ts - b.ts ||
      a.gateway.localeCompare(b.gateway) ||
      a.seq - b.seq,
  );
}

// What every rollup row must be, recomputed from the raw rows alone, and what the store holds.
type Agg = { count: number; sum: number; min: number; max: number; last: number; last_ts: number };

export function expectedRollups(s: { db: Database.Database }, ms: number): Map<string, Agg> {
  const out = new Map<string, Agg>();
  const rows = storedReadings(s)
    .filter((r) => r.seq >= 0)
    .sort((a, b) => a.ts - b.ts);
  for (const r of rows) {
    for (const [field, v] of Object.entries(r.values)) {
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
