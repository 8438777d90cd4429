import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import { startFakeEsms, startFakeZalo } from '@tamky/test-support/fakes';
import { startAlarmsContext, waterEvent } from './fakes/alarms-context';
import { floodPolicy, TECH_PHONE } from './fakes/policy';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const admin = { user: 'adm', role: 'admin' };

describe('GET /api/admin/notifications: every message sent, for admins', () => {
  it('lists recipient, channel, address, the text handed to the provider, state and alarm, newest first; the alarm trail carries the text', async () => {
    const zalo = await startFakeZalo();
    const esms = await startFakeEsms();
    closers.push(zalo.close, esms.close);
    zalo.withoutZalo(TECH_PHONE); // −118: falls back to SMS
    const c = await startAlarmsContext({ dbFile: join(tempDir('sent'), 'state.db'), config: { notify: floodPolicy(zalo, esms) } });
    closers.push(c.close);
    await c.event(waterEvent());
    await c.module.tick();
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);

    const res = await c.api('GET', '/admin/notifications?limit=10', undefined, admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ configured: true, total: 2 });
    const [sms, viaZalo] = res.body.items;
    expect(sms).toMatchObject({ alarmId: 1, recipient: 'tech-an-phu', channel: 'sms', address: TECH_PHONE, state: 'accepted' });
    expect(viaZalo).toMatchObject({ alarmId: 1, channel: 'zalo', state: 'fallback' });
    expect(viaZalo.error).toMatch(/118|Zalo/);
    for (const m of [sms, viaZalo]) {
      expect(m.text).toContain('#1');
      expect(m.text).toContain('http://ioc.test/alarms/1');
    }
    const detail = await c.api('GET', '/alarms/1', undefined, { user: 'v', role: 'viewer' });
    expect(detail.body.notifications.map((n: { text: string }) => n.text)).toEqual([viaZalo.text, sms.text]);

    const page2 = await c.api('GET', '/admin/notifications?limit=1&offset=1', undefined, admin);
    expect(page2.body.items.map((m: { id: string }) => m.id)).toEqual([viaZalo.id]);
    expect((await c.api('GET', '/admin/notifications', undefined, { user: 'op1', role: 'operator' })).status).toBe(403);
  });
});
