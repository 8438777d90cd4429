import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import type { AlarmEvent } from '@tamky/protocol';
import { startAlarmsContext, waterEvent, type AlarmsContext } from './fakes/alarms-context';
import type { AlarmsModuleConfig } from '../src/alarms';
import { startFakeEsms } from '@tamky/test-support/fakes';
import { floodPolicy, SUPERVISOR_PHONE, TECH_PHONE } from './fakes/policy';

const open: AlarmsContext[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
async function start(config: AlarmsModuleConfig = {}) {
  const c = await startAlarmsContext({ dbFile: join(tempDir('alarms-desk'), 'state.db'), config });
  open.push(c);
  // The rules ingest runs: correlation learns from them which rules watch device and gateway silence.
  const rules = [
    { id: 'device-silent', type: 'no_data', category: 'equipment', severity: 'minor', target: 'device' },
    { id: 'gateway-silent', type: 'no_data', category: 'equipment', severity: 'major', target: 'gateway' },
  ];
  c.db.prepare('INSERT INTO rules (version, rules, user, ts) VALUES (1, ?, ?, ?)').run(JSON.stringify(rules), 'system', c.clock.t);
  return c;
}
const viewer = { user: 'v', role: 'viewer' };
const t0 = waterEvent().ts;

const silentDevice = (n: number, ts = t0): AlarmEvent => ({
  ruleId: 'device-silent',
  sourceId: `dev-${n}`,
  state: 'raised',
  severity: 'minor',
  category: 'equipment',
  ward: 'an-phu',
  kind: 'pm_sensor',
  device: `dev-${n}`,
  gateway: 'gw-an-phu',
  value: 600,
  limit: 120,
  since: ts - 600_000,
  ts,
  message: { vi: `Thiết bị ${n} mất dữ liệu`, en: `Device ${n} silent` },
});
const silentGateway = (state: 'raised' | 'cleared' = 'raised', ts = t0): AlarmEvent => ({
  ruleId: 'gateway-silent',
  sourceId: 'gw-an-phu',
  state,
  severity: 'major',
  category: 'equipment',
  ward: 'an-phu',
  gateway: 'gw-an-phu',
  value: 90,
  limit: 60,
  since: ts - 90_000,
  ts,
  message: { vi: 'Gateway An Phú mất kết nối', en: 'Gateway An Phú offline' },
});

describe('reopen within the window', () => {
  it('the condition coming back reopens the same alarm with its acknowledgement, assignee and comments, and counts the flap', async () => {
    const c = await start({ reopenWindowS: 1800 });
    await c.event(waterEvent());
    const id = (await c.api('GET', '/alarms')).body.alarms[0].id as string;
    await c.api('POST', `/alarms/${id}/ack`, { comment: 'đã thấy' });
    await c.api('POST', `/alarms/${id}/assign`, { assignee: 'tech1' });
    await c.api('POST', `/alarms/${id}/comment`, { text: 'đội 2 đang tới' });
    c.clock.t = t0 + 120_000;
    expect((await c.api('POST', `/alarms/${id}/clear`, { comment: 'nước rút' })).body.alarm.state).toBe('cleared');
    // Ten minutes later the water is back above the level.
    await c.event(waterEvent({ ts: t0 + 720_000 }));
    const { alarms } = (await c.api('GET', '/alarms', undefined, viewer)).body;
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      id,
      state: 'acknowledged',
      assignee: 'tech1',
      acknowledgedBy: 'op1',
      reopenCount: 1,
      clearedAt: null,
      clearedBy: null,
    });
    const detail = (await c.api('GET', `/alarms/${id}`, undefined, viewer)).body;
    expect(detail.audit.map((a: { action: string }) => a.action)).toEqual([
      'raised',
      'acknowledged',
      'assigned',
      'comment',
      'cleared',
      'reopened',
    ]);
    expect(detail.audit[3].detail).toBe('đội 2 đang tới');

    // It clears by itself and comes back worse: same alarm, a second flap, and it asks for a new acknowledgement.
    await c.event(waterEvent({ state: 'cleared', ts: t0 + 800_000 }));
    await c.event(waterEvent({ ts: t0 + 900_000, severity: 'critical' }));
    await c.event(waterEvent({ state: 'cleared', ts: t0 + 950_000 }));
    await c.event(waterEvent({ ts: t0 + 1_000_000, severity: 'critical' }));
    const again = (await c.api('GET', `/alarms/${id}`, undefined, viewer)).body.alarm;
    expect(again).toMatchObject({ id, reopenCount: 3, assignee: 'tech1' });
    expect(c.broadcasts.at(-1)!.message.alarm).toMatchObject({ id, reopenCount: 3 });
  });

  it('a return after the window opens a new alarm; a worse severity than the one acknowledged needs a new acknowledgement', async () => {
    const c = await start({ reopenWindowS: 300 });
    await c.event(waterEvent({ severity: 'major' }));
    const id = (await c.api('GET', '/alarms')).body.alarms[0].id as string;
    await c.api('POST', `/alarms/${id}/ack`, {});
    await c.event(waterEvent({ state: 'cleared', ts: t0 + 60_000 }));
    await c.event(waterEvent({ ts: t0 + 120_000, severity: 'critical' }));
    expect((await c.api('GET', `/alarms/${id}`, undefined, viewer)).body.alarm).toMatchObject({
      state: 'active',
      reopenCount: 1,
      acknowledgedBy: 'op1',
    });
    await c.event(waterEvent({ state: 'cleared', ts: t0 + 180_000 }));
    await c.event(waterEvent({ ts: t0 + 180_000 + 301_000 }));
    const { alarms } = (await c.api('GET', '/alarms', undefined, viewer)).body;
    expect(alarms.map((a: { id: string; state: string }) => a.state)).toEqual(['active', 'cleared']);
    expect(alarms[0].id).not.toBe(id);
  });
});

describe('correlation', () => {
  it('a silent gateway takes in the silence alarms of its devices, before or after it, and lets them go when it is back', async () => {
    const c = await start();
    for (let n = 1; n <= 5; n++) await c.event(silentDevice(n));
    await c.event(silentGateway());
    for (let n = 6; n <= 20; n++) await c.event(silentDevice(n, t0 + 1000));
    const { alarms } = (await c.api('GET', '/alarms?state=open', undefined, viewer)).body;
    const gateway = alarms.find((a: { ruleId: string }) => a.ruleId === 'gateway-silent');
    expect(alarms).toHaveLength(21);
    expect(alarms.filter((a: { parentId: string | null }) => a.parentId === null).map((a: { id: string }) => a.id)).toEqual([gateway.id]);
    const detail = (await c.api('GET', `/alarms/${gateway.id}`, undefined, viewer)).body;
    expect(detail.children).toHaveLength(20);
    // The overview counts causes, not their echoes.
    expect(c.module.overviewAlarmCounts!('an-phu')).toEqual({ critical: 0, major: 1, minor: 0, warning: 0 });

    // The gateway is back; devices 1 and 2 report again, the other 18 stay silent: now problems of their own.
    await c.event({ ...silentDevice(1, t0 + 5000), state: 'cleared' });
    await c.event({ ...silentDevice(2, t0 + 5000), state: 'cleared' });
    await c.event(silentGateway('cleared', t0 + 6000));
    const after = (await c.api('GET', '/alarms?state=open', undefined, viewer)).body.alarms;
    expect(after).toHaveLength(18);
    expect(after.every((a: { parentId: string | null }) => a.parentId === null)).toBe(true);
    const trail = (await c.api('GET', `/alarms/${after[0].id}`, undefined, viewer)).body.audit.map((a: { action: string }) => a.action);
    expect(trail).toEqual(['raised', 'uncorrelated']);
  });

  it('a burst of one rule becomes one group; an alarm after the burst window starts a new one', async () => {
    const c = await start({ burstWindowS: 300 });
    const noise = (src: string, ts: number): AlarmEvent => ({
      ...waterEvent(),
      ruleId: 'noise',
      sourceId: src,
      device: src,
      ts,
      severity: 'minor',
      category: 'noise',
    });
    await c.event(noise('n1', t0));
    c.clock.t += 60_000;
    await c.event(noise('n2', t0 + 60_000));
    c.clock.t += 200_000;
    await c.event(noise('n3', t0 + 260_000));
    c.clock.t += 600_000;
    await c.event(noise('n4', t0 + 860_000));
    const alarms = (await c.api('GET', '/alarms', undefined, viewer)).body.alarms as Array<{
      id: string;
      sourceId: string;
      groupId: string | null;
    }>;
    const by = Object.fromEntries(alarms.map((a) => [a.sourceId, a]));
    expect(by.n1!.groupId).toBeNull();
    expect(by.n2!.groupId).toBe(by.n1!.id);
    expect(by.n3!.groupId).toBe(by.n1!.id);
    expect(by.n4!.groupId).toBeNull();
  });
});

describe('maintenance shelves', () => {
  it('shelve a ward with an expiry: audited, open alarms and new ones recorded as shelved, unknown targets refused, ended by hand', async () => {
    const c = await start();
    await c.event(waterEvent());
    expect(
      (await c.api('POST', '/alarms/shelves', { targetType: 'ward', targetId: 'an-phu', reason: 'bảo trì', minutes: 60 }, viewer)).status,
    ).toBe(403);
    expect((await c.api('POST', '/alarms/shelves', { targetType: 'ward', targetId: 'nowhere', reason: 'x', minutes: 60 })).status).toBe(
      400,
    );
    expect((await c.api('POST', '/alarms/shelves', { targetType: 'ward', targetId: 'an-phu', reason: 'x' })).status).toBe(400);
    const made = await c.api('POST', '/alarms/shelves', { targetType: 'ward', targetId: 'an-phu', reason: 'thay cảm biến', minutes: 60 });
    expect(made.status).toBe(201);
    const shelf = made.body.shelf;
    expect(shelf).toMatchObject({ targetType: 'ward', targetId: 'an-phu', user: 'op1', until: t0 + 3_600_000 });
    expect(c.audits.at(-1)).toMatchObject({
      user: 'op1',
      action: 'alarm.shelve',
      detail: { shelf: shelf.id, targetId: 'an-phu', reason: 'thay cảm biến' },
    });
    await c.event(silentDevice(1));
    const alarms = (await c.api('GET', '/alarms', undefined, viewer)).body.alarms;
    expect(alarms.map((a: { shelfId: string | null }) => a.shelfId)).toEqual([String(shelf.id), String(shelf.id)]);
    expect((await c.api('GET', '/alarms/shelves', undefined, viewer)).body.shelves).toHaveLength(1);

    // Expired: a new alarm is annunciated again.
    c.clock.t = t0 + 3_600_001;
    await c.event(silentDevice(2, c.clock.t));
    expect((await c.api('GET', '/alarms?q=dev-2', undefined, viewer)).body.alarms[0].shelfId).toBeNull();
    expect((await c.api('GET', '/alarms/shelves', undefined, viewer)).body.shelves).toHaveLength(0);
    expect((await c.api('DELETE', `/alarms/shelves/${shelf.id}`)).body.shelf.endedBy).toBe('op1');
    expect(c.audits.at(-1)).toMatchObject({ action: 'alarm.unshelve' });
  });
});

describe('maintenance ends', () => {
  it('an alarm still open when its shelf expires is announced again: unshelved in its trail, broadcast, notified', async () => {
    const esms = await startFakeEsms();
    const c = await start({ notify: floodPolicy(undefined, esms) });
    open.push({ close: esms.close } as unknown as AlarmsContext);
    await c.api('POST', '/alarms/shelves', { targetType: 'ward', targetId: 'an-phu', reason: 'nạo vét kênh', minutes: 30 });
    await c.event(waterEvent());
    await c.module.tick();
    const [alarm] = (await c.api('GET', '/alarms', undefined, viewer)).body.alarms;
    expect(alarm.shelfId).not.toBeNull();
    expect(esms.messages).toHaveLength(0); // silenced while shelved

    c.clock.t = t0 + 30 * 60_000 + 1;
    await c.module.tick();
    await c.module.tick();
    const after = (await c.api('GET', `/alarms/${alarm.id}`, undefined, viewer)).body;
    expect(after.alarm).toMatchObject({ state: 'active', shelfId: null });
    expect(after.audit.at(-1)).toMatchObject({ user: 'system', action: 'unshelved' });
    expect(c.broadcasts.at(-1)!.message.alarm).toMatchObject({ id: alarm.id, shelfId: null });
    // The on-call technician first; the alarm has been open 30 min, so its 10-min escalation is due as well.
    expect(esms.messages.map((m) => m.phone)).toEqual([TECH_PHONE, SUPERVISOR_PHONE]);
    for (const m of esms.messages) expect(m.content).toContain(`#${alarm.id}`);
    // Once only: the next tick has nothing to release.
    const count = c.broadcasts.length;
    await c.module.tick();
    expect(c.broadcasts.length).toBe(count);
  });
});

describe('the desk', () => {
  it('counts what waits and answers its first lines grouped over every alarm, filtered and ward-limited on the server', async () => {
    const c = await start({ burstWindowS: 300 });
    for (let n = 1; n <= 5; n++) await c.event(silentDevice(n));
    await c.event(silentGateway());
    for (let n = 6; n <= 20; n++) await c.event(silentDevice(n, t0 + 1000));
    const noise = (n: number): AlarmEvent => ({
      ...waterEvent(),
      ruleId: 'noise',
      sourceId: `n${n}`,
      device: `n${n}`,
      severity: 'warning',
      category: 'noise',
      message: { vi: `Tiếng ồn n${n}`, en: `Noise n${n}` },
    });
    for (let n = 1; n <= 60; n++) await c.event(noise(n));
    await c.event(waterEvent());
    // Waiting: the gateway, the 60 of the burst and the flood; the 20 silent devices are explained by their gateway.
    expect((await c.api('GET', '/alarms/count', undefined, viewer)).body).toEqual({ unacknowledged: 62, open: 62 });
    const flood = (await c.api('GET', '/alarms?q=mực nước', undefined, viewer)).body.alarms[0].id as string;
    await c.api('POST', `/alarms/${flood}/ack`, {});
    expect((await c.api('GET', '/alarms/count', undefined, viewer)).body).toEqual({ unacknowledged: 61, open: 62 });

    const all = (await c.api('GET', '/alarms/rows', undefined, viewer)).body;
    expect(all.total).toBe(3);
    expect(all.alarms).toBe(82);
    expect(
      all.rows.map((r: any) => [r.lead.ruleId, r.memberCount, r.members.length, r.childCount, r.children.length, r.ids.length]),
    ).toEqual([
      ['flood-level', 0, 0, 0, 0, 1],
      ['gateway-silent', 0, 0, 20, 20, 21],
      // A burst of 60: the line carries the first 50 of the others for its detail, and every id for bulk actions.
      ['noise', 59, 50, 0, 0, 60],
    ]);
    const first = (await c.api('GET', '/alarms/rows?rows=1', undefined, viewer)).body;
    expect([first.rows.length, first.total]).toEqual([1, 3]);
    // Search and filters run over every alarm on the server, not over the lines sent.
    const found = (await c.api('GET', '/alarms/rows?q=n47&rows=1', undefined, viewer)).body;
    expect(found.rows.map((r: any) => [r.lead.sourceId, r.memberCount])).toEqual([['n47', 0]]);
    expect((await c.api('GET', '/alarms/rows?state=acknowledged', undefined, viewer)).body.rows.map((r: any) => r.lead.id)).toEqual([
      flood,
    ]);
    expect((await c.api('GET', `/alarms/rows?exclude=${flood}`, undefined, viewer)).body.total).toBe(2);
    expect((await c.api('GET', '/alarms/rows?rows=0', undefined, viewer)).status).toBe(400);

    // A ward-limited account sees its wards only; no session, nothing.
    const anMy = { ...viewer, wards: ['an-my'] };
    expect((await c.api('GET', '/alarms/count', undefined, anMy)).body).toEqual({ unacknowledged: 0, open: 0 });
    expect((await c.api('GET', '/alarms/rows', undefined, anMy)).body).toEqual({ rows: [], total: 0, alarms: 0 });
    expect((await c.api('GET', '/alarms/count', undefined, { ...viewer, wards: ['an-phu'] })).body.open).toBe(62);
    expect((await fetch(`${c.url}/api/alarms/count`)).status).toBe(401);
    expect((await fetch(`${c.url}/api/alarms/rows`)).status).toBe(401);
  });

  it('bulk acknowledges and assigns, reporting what could not be done; assigns only to real users', async () => {
    const c = await start({ burstWindowS: 0 });
    for (let n = 1; n <= 50; n++) await c.event(silentDevice(n));
    const ids = (await c.api('GET', '/alarms?state=active&limit=100', undefined, viewer)).body.alarms.map((a: { id: string }) => a.id);
    expect(ids).toHaveLength(50);
    await c.api('POST', `/alarms/${ids[0]}/ack`, {});
    const res = await c.api('POST', '/alarms/bulk', { ids: [...ids, '9999'], action: 'ack', comment: 'ca đêm đã thấy' });
    expect(res.status).toBe(200);
    expect(res.body.alarms).toHaveLength(49);
    expect(res.body.failed).toEqual([
      { id: ids[0], error: 'conflict' },
      { id: '9999', error: 'not_found' },
    ]);
    expect((await c.api('GET', '/alarms?state=active', undefined, viewer)).body.alarms).toHaveLength(0);
    expect(c.audits.filter((a) => a.action === 'alarm.ack')).toHaveLength(50);
    expect((await c.api('POST', '/alarms/bulk', { ids, action: 'assign', assignee: 'nobody' })).status).toBe(400);
    expect((await c.api('POST', `/alarms/${ids[1]}/assign`, { assignee: 'nobody' })).status).toBe(400);
    expect((await c.api('POST', '/alarms/bulk', { ids: ids.slice(0, 10), action: 'assign', assignee: 'tech1' })).body.alarms).toHaveLength(
      10,
    );
    expect((await c.api('GET', '/alarms?assignee=tech1', undefined, viewer)).body.alarms).toHaveLength(10);
    expect((await c.api('GET', '/alarms?assignee=none', undefined, viewer)).body.alarms).toHaveLength(40);
    expect((await c.api('GET', '/alarms/assignees')).body.users.map((u: { username: string }) => u.username)).toEqual(['op1', 'tech1']);
    expect((await c.api('POST', '/alarms/bulk', { ids, action: 'ack' }, viewer)).status).toBe(403);
  });

  it('searches and filters by kind; exports alarms with their trails as CSV people open in Excel', async () => {
    const c = await start();
    await c.event(waterEvent());
    await c.event(silentDevice(7));
    expect((await c.api('GET', '/alarms?q=mực nước', undefined, viewer)).body.alarms.map((a: { ruleId: string }) => a.ruleId)).toEqual([
      'flood-level',
    ]);
    expect((await c.api('GET', '/alarms?q=dev-7', undefined, viewer)).body.alarms).toHaveLength(1);
    expect((await c.api('GET', '/alarms?q=100%25', undefined, viewer)).body.alarms).toHaveLength(0);
    expect(
      (await c.api('GET', '/alarms?kind=pm_sensor', undefined, viewer)).body.alarms.map((a: { sourceId: string }) => a.sourceId),
    ).toEqual(['dev-7']);
    const id = (await c.api('GET', '/alarms?kind=water_level', undefined, viewer)).body.alarms[0].id;
    await c.api('POST', `/alarms/${id}/comment`, { text: 'đã gọi, "đội 2"' });
    const res = await fetch(`${c.url}/api/alarms.csv?kind=water_level`, { headers: { 'x-user': 'op1', 'x-role': 'operator' } });
    expect(res.headers.get('content-type')).toMatch(/text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="alarms-2026-11-26.csv"');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder().decode(bytes.slice(3)).trim().split('\r\n');
    expect(lines[0]!.startsWith('Mã,Quy tắc,Mức độ')).toBe(true);
    expect(lines).toHaveLength(3); // raised + comment
    expect(lines[2]).toContain(',An Phú,an-phu-water-1,Đo mực nước An Phú,');
    expect(lines[2]).toContain('2026-11-26T10:00:00+07:00');
    expect(lines[2]).toContain('"đã gọi, ""đội 2"""');
    expect((await fetch(`${c.url}/api/alarms.csv`, { headers: { 'x-user': 'v', 'x-role': 'viewer' } })).status).toBe(403);
  });
});
