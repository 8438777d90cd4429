import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { cityModelSchema, DERIVED_SEQ, type TimeSeriesStore } from '@tamky/protocol';
import { loadConfigFile, loadLimits } from '@tamky/service-kit';
import { openStore } from '@tamky/store';
import { backfillHistory } from '../src/backfill';
import { REPO_ROOT } from '../src/compose';

const city = loadConfigFile(join(REPO_ROOT, 'config/tam-ky/city.yaml'), cityModelSchema);
const limits = loadLimits(join(REPO_ROOT, 'config/limits'));
const dir = mkdtempSync(join(tmpdir(), 'backfill-'));
let store: TimeSeriesStore | undefined;
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('demo history backfill', () => {
  it('writes every device at each step through the store, with the hourly derived values, once', async () => {
    store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') });
    const now = Date.UTC(2026, 11, 7, 6, 0, 0);
    const stepMs = 10 * 60_000;
    const first = await backfillHistory({ city, store, limits, days: 0.5, stepMs, now });
    expect(first.done).toBe(true);
    expect(first.raw).toBe(city.devices.length * 72); // 12 h of 10-min steps
    expect(first.derived).toBeGreaterThan(0);

    const water = city.devices.filter((d) => d.kind === 'water_level');
    const levels = await store.query({ kind: 'water_level', fields: ['level'], from: now - 43_200_000, to: now });
    expect(levels.map((s) => s.device).sort()).toEqual(water.map((d) => d.id).sort());
    for (const s of levels) {
      expect(s.points).toHaveLength(72);
      // Decoded like the gateway (mounting height applied): a river level in metres, not a raw register.
      for (const [, v] of s.points) {
        expect(v).toBeGreaterThan(-5);
        expect(v).toBeLessThan(15);
      }
    }
    const aqi = await store.query({ kind: 'vn_aqi', fields: ['aqi'], from: now - 43_200_000, to: now });
    expect(aqi.length).toBe(city.devices.filter((d) => d.kind === 'air_station' || d.kind === 'pm_sensor').length);
    const traffic = await store.query({ kind: 'traffic_counter', fields: ['lane1_car'], from: now - 43_200_000, to: now });
    expect(traffic.flatMap((s) => s.points).some(([, v]) => v > 0)).toBe(true);
    // History never came from a gateway: loss checking must not count it.
    const latest = await store.latest({ kind: 'water_level' });
    expect(latest.every((r) => r.seq === DERIVED_SEQ && r.ts < now)).toBe(true);

    const again = await backfillHistory({ city, store, limits, days: 0.5, stepMs, now: now + 3_600_000 });
    expect(again).toMatchObject({ done: false, raw: 0 });
  });
});
