import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import type { AlarmEvent } from '@tamky/protocol';
import { startAlarmsContext, waterEvent, type AlarmsContext } from './fakes/alarms-context';

/**
 * A hand-checked hour of alarm history, [T, T + 60 min), one operator position:
 * - 10-minute period 0: 12 noise alarms (minor → low priority), each from its own station: a flood (> 10).
 * - period 1: the flood station's alarm (critical → high) raises, clears itself after 10 s, comes back at
 *   20 s, clears at 30 s, comes back at 40 s: 3 annunciations in 40 s (chattering), 2 of them fleeting.
 * - period 3: gateway gw-an-phu goes silent (major → medium); 2 of its devices' silence alarms are its
 *   children: suppressed, not annunciated.
 * - An alarm opened 25 h before T and still open: stale (not annunciated inside the period).
 * Annunciated: 12 + 3 + 1 = 16 over 6 periods.
 */
const T = Date.UTC(2026, 10, 26, 3, 0, 0);
const MIN = 60_000;
let c: AlarmsContext;

async function at(ts: number, e: AlarmEvent): Promise<void> {
  c.clock.t = ts;
  await c.event({ ...e, ts });
}

beforeAll(async () => {
  c = await startAlarmsContext({
    dbFile: join(tempDir('alarms-health'), 'state.db'),
    config: { burstWindowS: 0 },
    startAt: T - 25 * 60 * MIN,
  });
  const rules = [
    { id: 'device-silent', type: 'no_data', target: 'device' },
    { id: 'gateway-silent', type: 'no_data', target: 'gateway' },
  ];
  c.db.prepare('INSERT INTO rules (version, rules, user, ts) VALUES (1, ?, ?, ?)').run(JSON.stringify(rules), 'system', T);
  const base = waterEvent();
  await at(T - 25 * 60 * MIN, { ...base, ruleId: 'pm25-high', sourceId: 'pm-1', device: 'pm-1', severity: 'warning', category: 'air' });
  for (let i = 1; i <= 12; i++)
    await at(T + i * 30_000, {
      ...base,
      ruleId: 'noise',
      sourceId: `noise-${i}`,
      device: `noise-${i}`,
      severity: 'minor',
      category: 'noise',
    });
  const flood = T + 10 * MIN;
  await at(flood, base);
  await at(flood + 10_000, { ...base, state: 'cleared' });
  await at(flood + 20_000, base);
  await at(flood + 30_000, { ...base, state: 'cleared' });
  await at(flood + 40_000, base);
  const gw = {
    ...base,
    ruleId: 'gateway-silent',
    sourceId: 'gw-an-phu',
    device: undefined,
    kind: undefined,
    severity: 'major' as const,
    category: 'equipment',
  };
  const dev = (n: number) => ({
    ...base,
    ruleId: 'device-silent',
    sourceId: `dev-${n}`,
    device: `dev-${n}`,
    severity: 'minor' as const,
    category: 'equipment',
  });
  await at(T + 31 * MIN, gw);
  await at(T + 32 * MIN, dev(1));
  await at(T + 33 * MIN, dev(2));
  c.clock.t = T + 60 * MIN;
});
afterAll(async () => {
  await c?.close();
});

const admin = { user: 'admin1', role: 'admin' };

describe('GET /api/alarms/health', () => {
  it('gives the ISA-18.2 / EEMUA 191 figures of the hand-checked hour', async () => {
    const res = await c.api('GET', `/alarms/health?from=${T}&to=${T + 60 * MIN}`, undefined, admin);
    expect(res.status).toBe(200);
    const h = res.body;
    expect(h.total).toBe(16);
    expect(h.suppressed).toEqual({ gateway: 2, group: 0, shelved: 0 });
    expect(h.periods).toBe(6);
    expect(h.perPosition.per10Min).toBeCloseTo(16 / 6, 10);
    expect(h.perPosition.perDay).toBeCloseTo(384, 10);
    expect(h.floodPeriods).toBe(1);
    expect(h.floodShare).toBeCloseTo(1 / 6, 10);
    expect(h.peak).toEqual({ count: 12, start: T });
    expect(h.badActors.rules).toEqual([
      { id: 'noise', count: 12, share: 0.75 },
      { id: 'flood-level', count: 3, share: 3 / 16 },
      { id: 'gateway-silent', count: 1, share: 1 / 16 },
    ]);
    expect(h.badActors.sources).toHaveLength(10);
    expect(h.badActors.sources[0]).toEqual({ id: 'an-phu-water-1', count: 3, share: 3 / 16 });
    expect(h.chattering).toEqual([{ ruleId: 'flood-level', sourceId: 'an-phu-water-1', count: 3 }]);
    expect(h.fleeting).toBe(2);
    expect(h.stale.map((s: { sourceId: string }) => s.sourceId)).toEqual(['pm-1']);
    expect(h.priorityMix).toEqual([
      { priority: 'low', count: 12, share: 0.75, guide: 0.8 },
      { priority: 'medium', count: 1, share: 1 / 16, guide: 0.15 },
      { priority: 'high', count: 3, share: 3 / 16, guide: 0.05 },
    ]);
  });

  it('shares the load over operator positions, and refuses bad periods and non-admins', async () => {
    const two = (await c.api('GET', `/alarms/health?from=${T}&to=${T + 60 * MIN}&positions=2`, undefined, admin)).body;
    expect(two.perPosition.per10Min).toBeCloseTo(16 / 12, 10);
    expect(two.floodPeriods).toBe(0);
    // The flood hour seen from its first 10 minutes only.
    const first = (await c.api('GET', `/alarms/health?from=${T}&to=${T + 10 * MIN}`, undefined, admin)).body;
    expect(first).toMatchObject({ total: 12, periods: 1, floodPeriods: 1, floodShare: 1 });
    expect((await c.api('GET', `/alarms/health?from=${T}&to=${T}`, undefined, admin)).status).toBe(400);
    expect((await c.api('GET', `/alarms/health?from=${T}`, undefined, admin)).status).toBe(400);
    expect((await c.api('GET', `/alarms/health?from=${T}&to=${T + MIN}`, undefined, { user: 'op1', role: 'operator' })).status).toBe(403);
  });
});
