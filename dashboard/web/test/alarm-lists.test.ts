import { describe, expect, it } from 'vitest';
import type { Alarm } from '../src/api/types';
import { deskRows } from '@tamky/protocol';
import { firstSorted } from '../src/lib/alarm-rows';
import { applyAlarmUpdates } from '../src/lib/alarm-updates';

const alarm = (id: string, over: Partial<Alarm> = {}): Alarm => ({
  id,
  ruleId: 'device-silent',
  sourceId: `dev-${id}`,
  state: 'active',
  severity: 'minor',
  category: 'equipment',
  ward: 'w1',
  kind: 'air_station',
  device: `dev-${id}`,
  gateway: 'gw-1',
  field: null,
  value: null,
  limit: null,
  unit: null,
  message: { vi: `cảnh báo ${id}`, en: `alarm ${id}` },
  since: 0,
  firstSeen: Number(id),
  lastSeen: Number(id),
  count: 1,
  assignee: null,
  acknowledgedBy: null,
  acknowledgedAt: null,
  clearedAt: null,
  clearedBy: null,
  openedAt: 0,
  parentId: null,
  groupId: null,
  reopenCount: 0,
  shelfId: null,
  ...over,
});
const ids = (xs: Alarm[]) => xs.map((a) => a.id);

describe('live alarm updates applied in batches', () => {
  it('moves each updated alarm to the front once, its latest version winning, and drops what no longer belongs', () => {
    const list = [alarm('3'), alarm('2'), alarm('1')];
    const batch = [alarm('1', { state: 'acknowledged' }), alarm('4'), alarm('2', { state: 'cleared' }), alarm('1', { assignee: 'op' })];
    const next = applyAlarmUpdates(list, batch, (a) => a.state !== 'cleared');
    expect(ids(next)).toEqual(['1', '4', '3']);
    expect(next[0]).toMatchObject({ state: 'active', assignee: 'op' });
  });

  it('gives the same list as applying the updates one at a time', () => {
    const list = Array.from({ length: 50 }, (_, i) => alarm(String(i)));
    const batch = Array.from({ length: 80 }, (_, i) => alarm(String((i * 7) % 60), { count: i }));
    const one = batch.reduce((l, a) => [a, ...l.filter((x) => x.id !== a.id)], list);
    expect(applyAlarmUpdates(list, batch)).toEqual(one);
    expect(applyAlarmUpdates(list, [])).toBe(list);
  });
});

describe('bounded alarm lists', () => {
  it('takes the first n in order without sorting everything, as a full stable sort would', () => {
    const order = (a: number, b: number) => (a % 10) - (b % 10);
    const xs = Array.from({ length: 500 }, (_, i) => (i * 37) % 101);
    expect(firstSorted(xs, 8, order)).toEqual([...xs].sort(order).slice(0, 8));
    expect(firstSorted(xs.slice(0, 3), 8, order)).toEqual(xs.slice(0, 3).sort(order));
    expect(firstSorted(xs, 0, order)).toEqual([]);
  });

  it('folds a burst of thousands of one rule into one desk row, children under their gateway', () => {
    const gateway = alarm('1', { ruleId: 'gateway-offline', severity: 'major' });
    const kids = Array.from({ length: 20 }, (_, i) => alarm(String(100 + i), { parentId: '1' }));
    const burst = Array.from({ length: 3000 }, (_, i) =>
      alarm(String(1000 + i), { ruleId: 'pm25-high', groupId: '1000', severity: 'warning' }),
    );
    const rows = deskRows([gateway, ...kids, ...burst]);
    expect(rows.map((r) => [r.lead.id, r.memberCount, r.members.length, r.childCount, r.children.length, r.ids.length])).toEqual([
      ['1', 0, 0, 20, 20, 21],
      // The line carries the first 50 of the others for its detail and every id for bulk actions.
      ['3999', 2999, 50, 0, 0, 3000],
    ]);
  });
});
