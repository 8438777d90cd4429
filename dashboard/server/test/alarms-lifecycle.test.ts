import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import { startAlarmsContext, waterEvent, type AlarmsContext } from './fakes/alarms-context';

const open: AlarmsContext[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
async function start(dbFile = join(tempDir('alarms'), 'state.db')) {
  const c = await startAlarmsContext({ dbFile });
  open.push(c);
  return c;
}

describe('alarm lifecycle', () => {
  it('one open alarm per (rule, source): repeats update value/count/lastSeen, redeliveries are ignored, every change is broadcast', async () => {
    const c = await start();
    const t0 = waterEvent().ts;
    await c.event(waterEvent());
    await c.event(waterEvent({ ts: t0 + 60_000, value: 3.5 }));
    await c.event(waterEvent({ ts: t0 + 60_000, value: 3.5 })); // QoS 1 redelivery
    await c.event(waterEvent({ ts: t0 + 120_000, value: 4.1, severity: 'critical', limit: 4 }));
    const list = await c.api('GET', '/alarms', undefined, { user: 'v', role: 'viewer' });
    expect(list.status).toBe(200);
    expect(list.body.alarms).toHaveLength(1);
    expect(list.body.alarms[0]).toMatchObject({
      state: 'active',
      count: 3,
      value: 4.1,
      limit: 4,
      firstSeen: t0,
      lastSeen: t0 + 120_000,
      ward: 'an-phu',
      severity: 'critical',
    });
    expect(c.broadcasts.filter((b) => b.channel === 'alarms' && b.message.type === 'alarm')).toHaveLength(3);
  });

  it('ack, assign, comment, clear through the API with roles, conflicts and a full audit trail', async () => {
    const c = await start();
    await c.event(waterEvent());
    const id = (await c.api('GET', '/alarms?state=open', undefined, { user: 'v', role: 'viewer' })).body.alarms[0].id as string;
    expect(id).toBe('1');
    expect((await c.api('POST', `/alarms/${id}/ack`, {}, { user: 'kiosk', role: 'viewer' })).status).toBe(403);
    const acked = await c.api('POST', `/alarms/${id}/ack`, { comment: 'đang xử lý' }, { user: 'op1', role: 'operator' });
    expect(acked.status).toBe(200);
    expect(acked.body.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'op1', acknowledgedAt: c.clock.t });
    expect((await c.api('POST', `/alarms/${id}/ack`, {})).status).toBe(409);
    expect((await c.api('POST', `/alarms/${id}/assign`, { assignee: 'tech1' })).body.alarm.assignee).toBe('tech1');
    expect((await c.api('POST', `/alarms/${id}/comment`, { text: 'đội 2 đã tới hiện trường' })).status).toBe(200);
    expect((await c.api('POST', `/alarms/${id}/comment`, {})).status).toBe(400);
    // a repeat while acknowledged keeps the acknowledgement
    await c.event(waterEvent({ ts: waterEvent().ts + 1000, value: 3.4 }));
    const cleared = await c.api('POST', `/alarms/${id}/clear`, { comment: 'nước rút' });
    expect(cleared.body.alarm).toMatchObject({ state: 'cleared', clearedBy: 'op1', count: 2 });
    const detail = await c.api('GET', `/alarms/${id}`, undefined, { user: 'v', role: 'viewer' });
    expect(detail.body.audit.map((a: any) => `${a.user}:${a.action}`)).toEqual([
      'system:raised',
      'op1:acknowledged',
      'op1:assigned',
      'op1:comment',
      'op1:cleared',
    ]);
    expect(detail.body.audit[3]).toMatchObject({ detail: 'đội 2 đã tới hiện trường', data: { text: 'đội 2 đã tới hiện trường' } });
    expect(detail.body.audit[2].detail).toBe('tech1');
    expect(detail.body.audit[0].detail).toBe('3.2 / 3 (critical)');
    expect(detail.body.notifications).toEqual([]);
    expect(c.audits.map((a) => a.action)).toEqual(['alarm.ack', 'alarm.assign', 'alarm.comment', 'alarm.clear']);
    expect((await c.api('GET', '/alarms/99999', undefined, { user: 'v', role: 'viewer' })).status).toBe(404);
  });

  it('a cleared event closes the alarm; a raise after the reopen window opens a new one; stale or unknown clears change nothing', async () => {
    const c = await startAlarmsContext({ dbFile: join(tempDir('alarms'), 'state.db'), config: { reopenWindowS: 60 } });
    open.push(c);
    const t0 = waterEvent().ts;
    await c.event(waterEvent({ state: 'cleared', ts: t0 - 5000 })); // reconciliation for nothing open
    await c.event(waterEvent());
    await c.event(waterEvent({ state: 'cleared', ts: t0 - 1000 })); // older than the alarm: out of order
    let alarms = (await c.api('GET', '/alarms', undefined, { user: 'v', role: 'viewer' })).body.alarms;
    expect(alarms.map((a: any) => a.state)).toEqual(['active']);
    await c.event(waterEvent({ state: 'cleared', ts: t0 + 300_000, value: 1.7 }));
    await c.event(waterEvent({ ts: t0 + 600_000 }));
    alarms = (await c.api('GET', '/alarms', undefined, { user: 'v', role: 'viewer' })).body.alarms;
    expect(alarms.map((a: any) => [a.state, a.clearedBy])).toEqual([
      ['active', null],
      ['cleared', 'system'],
    ]);
    expect(alarms[1].value).toBe(1.7);
    expect(Number(alarms[0].id)).toBeGreaterThan(Number(alarms[1].id));
  });

  it('filters by state, severity and ward; counts open alarms per ward for the overview; rejects bad filters', async () => {
    const c = await start();
    await c.event(waterEvent());
    await c.event(waterEvent({ ruleId: 'noise', sourceId: 'n1', severity: 'minor', category: 'noise', ward: 'an-my' }));
    const get = (q: string) => c.api('GET', `/alarms${q}`, undefined, { user: 'v', role: 'viewer' });
    expect((await get('?severity=minor')).body.alarms.map((a: any) => a.ruleId)).toEqual(['noise']);
    expect((await get('?ward=an-phu')).body.alarms.map((a: any) => a.ruleId)).toEqual(['flood-level']);
    expect((await get('?limit=1')).body.alarms).toHaveLength(1);
    expect((await get('?state=bogus')).status).toBe(400);
    expect(c.module.overviewAlarmCounts!('an-phu')).toEqual({ critical: 1, major: 0, minor: 0, warning: 0 });
  });

  it('survives a restart: state, trail and deduplication come back from the file DB', async () => {
    const file = join(tempDir('alarms-restart'), 'state.db');
    const a = await startAlarmsContext({ dbFile: file });
    await a.event(waterEvent());
    const id = (await a.api('GET', '/alarms', undefined, { user: 'v', role: 'viewer' })).body.alarms[0].id;
    await a.api('POST', `/alarms/${id}/ack`, {});
    await a.close();
    const b = await start(file);
    await b.event(waterEvent()); // the broker redelivers the last unacked event after the restart
    await b.event(waterEvent({ ts: waterEvent().ts + 1000, value: 3.3 }));
    const after = (await b.api('GET', `/alarms/${id}`, undefined, { user: 'v', role: 'viewer' })).body;
    expect(after.alarm).toMatchObject({ id, state: 'acknowledged', acknowledgedBy: 'op1', count: 2, value: 3.3 });
    expect(after.audit.map((x: any) => x.action)).toEqual(['raised', 'acknowledged']);
  });

  it('seeds version 1 of the rules from the rules file when the server has none, and publishes it retained', async () => {
    const dir = tempDir('alarms-seed');
    const c = await startAlarmsContext({
      dbFile: join(dir, 'state.db'),
      config: { rulesFile: join(import.meta.dirname, '../../../config/rules/default.yaml') },
    });
    open.push(c);
    const row = c.db.prepare('SELECT version, user, rules FROM rules').get() as { version: number; user: string; rules: string };
    expect(row).toMatchObject({ version: 1, user: 'system' });
    expect(JSON.parse(row.rules).map((r: { id: string }) => r.id)).toContain('flood-level');
    await new Promise((r) => setImmediate(r));
    expect(c.published[0]).toMatchObject({ topic: 'city/v1/config/rules', payload: { version: 1 } });
  });

  it('bad payloads are dropped without stopping the module', async () => {
    const c = await start();
    await c.module.onMqttMessage!('city/v1/alarm/x/y', Buffer.from('not json'));
    await c.module.onMqttMessage!('city/v1/alarm/x/y', Buffer.from(JSON.stringify({ ruleId: 'x' })));
    await c.event(waterEvent());
    expect((await c.api('GET', '/alarms', undefined, { user: 'v', role: 'viewer' })).body.alarms).toHaveLength(1);
  });
});
