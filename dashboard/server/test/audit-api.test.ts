import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, login, startHarness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

interface Entry {
  id: number;
  ts: number;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}

describe('GET /api/audit', () => {
  it('filters by user, action (or a prefix) and words in the detail, pages with a total, newest first; admins only', async () => {
    const admin = await login(h.url, 'admin');
    for (let i = 0; i < 3; i++) await login(h.url, 'operator');
    const rule = (n: number) => ({
      id: `rule-${n}`,
      type: 'threshold',
      category: 'air',
      kind: 'pm_sensor',
      field: 'pm25',
      op: '>',
      value: 100 + n,
    });
    for (let v = 0; v < 4; v++)
      expect((await api(h.url, admin, 'PUT', '/api/rules', { rules: Array.from({ length: v + 1 }, (_, i) => rule(i)) })).status).toBe(200);

    const get = async (query: string) =>
      (await (await api(h.url, admin, 'GET', `/api/audit?${query}`)).json()) as { entries: Entry[]; total: number };
    const all = await get('limit=100');
    expect(all.total).toBe(all.entries.length);
    expect(all.entries.map((e) => e.id)).toEqual([...all.entries.map((e) => e.id)].sort((a, b) => b - a));

    const operatorLogins = await get('user=operator&action=auth.login');
    expect(operatorLogins.total).toBe(3);
    expect(operatorLogins.entries.every((e) => e.user === 'operator' && e.action === 'auth.login')).toBe(true);
    const auth = await get('action=auth.');
    expect(auth.total).toBe(4);
    expect((await get('action=auth')).total).toBe(0);

    const page1 = await get('action=rules.update&limit=3');
    const page2 = await get('action=rules.update&limit=3&offset=3');
    expect(page1.total).toBe(4);
    expect(page1.entries.map((e) => e.detail.count)).toEqual([4, 3, 2]);
    expect(page2.entries.map((e) => e.detail.count)).toEqual([1]);
    expect((await get('q=%22count%22%3A3')).entries.map((e) => e.detail.version)).toEqual([page1.entries[1]!.detail.version]);
    expect((await get('q=100%25')).total).toBe(0);
    expect((await get(`from=${all.entries[0]!.ts + 1}`)).total).toBe(0);

    const operator = await login(h.url, 'operator');
    expect((await api(h.url, operator, 'GET', '/api/audit')).status).toBe(403);
    expect((await api(h.url, admin, 'GET', '/api/audit?limit=0')).status).toBe(400);
  });
});
