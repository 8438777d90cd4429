import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import { startAlarmsContext, waterEvent, type AlarmsContext } from './fakes/alarms-context';
import { startFakeEsms, type FakeEsms } from './fakes/esms';
import { startFakeZalo, type FakeZalo } from './fakes/zalo';
import { CALLBACK_TOKEN, floodPolicy, SUPERVISOR_PHONE, TECH_PHONE } from './fakes/policy';
import type { NotifyPolicyInput } from '../src/notify';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const MIN = 60_000;
const TEN_LOCAL = Date.UTC(2026, 10, 26, 3, 0, 0); // 10:00 in Tam Kỳ
const NINE_PM_LOCAL = Date.UTC(2026, 10, 26, 14, 0, 0); // 21:00
const ELEVEN_PM_LOCAL = Date.UTC(2026, 10, 26, 16, 0, 0); // 23:00

async function setup(
  over: Partial<NotifyPolicyInput> = {},
  startAt = TEN_LOCAL,
): Promise<{ c: AlarmsContext; zalo: FakeZalo; esms: FakeEsms }> {
  const zalo = await startFakeZalo();
  const esms = await startFakeEsms();
  closers.push(zalo.close, esms.close);
  const c = await startAlarmsContext({
    dbFile: join(tempDir('escalation'), 'state.db'),
    startAt,
    config: { notify: floodPolicy(zalo, esms, over) },
  });
  closers.push(c.close);
  return { c, zalo, esms };
}

describe('escalation, on-call, quiet hours, grouping and replies (controllable clock)', () => {
  it('escalates to the supervisor by SMS after 10 min unacknowledged; an API ack stops every later step', async () => {
    const { c, zalo, esms } = await setup({
      routes: [
        {
          id: 'flood',
          match: { categories: ['water'] },
          steps: [
            { to: ['group:water-oncall'] },
            { afterMin: 10, to: ['supervisor'], channels: ['sms'] },
            { afterMin: 20, to: ['tech-night'] },
          ],
        },
      ],
    });
    const t0 = c.clock.t;
    await c.event(waterEvent());
    await c.module.tick();
    expect(zalo.messages.map((m) => m.phone)).toEqual([TECH_PHONE]);
    c.clock.t = t0 + 9 * MIN;
    await c.module.tick();
    expect(esms.messages).toHaveLength(0);
    c.clock.t = t0 + 10 * MIN;
    await c.module.tick();
    expect(esms.messages.map((m) => m.phone)).toEqual([SUPERVISOR_PHONE]);
    c.clock.t = t0 + 15 * MIN;
    expect((await c.api('POST', '/alarms/1/ack', { comment: 'đã nhận' })).status).toBe(200);
    c.clock.t = t0 + 25 * MIN;
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    const metrics = await c.module.metrics.metrics();
    expect(metrics).toMatch(/alarms_notifications_total\{channel="zalo",outcome="accepted",service="alarms"\} 1/);
    expect(metrics).toMatch(/alarms_notifications_total\{channel="sms",outcome="accepted",service="alarms"\} 1/);
    expect(metrics).toMatch(/alarms_notification_outbox\{state="accepted",service="alarms"\} 2/);
    expect(metrics).toMatch(/alarms_open\{severity="critical",service="alarms"\} 1/);
    expect(c.db.prepare('SELECT COUNT(*) AS n FROM notify_escalations').get()).toEqual({ n: 0 });
  });

  it('the on-call rotation picks the night technician at 21:00 local time', async () => {
    const { c, zalo, esms } = await setup({}, NINE_PM_LOCAL);
    await c.event(waterEvent({ ts: NINE_PM_LOCAL }));
    await c.module.tick();
    expect(zalo.messages).toHaveLength(0);
    expect(esms.messages.map((m) => m.phone)).toEqual(['84905333444']);
  });

  it('quiet hours hold minor alarms until 06:00 local; critical ones go at once', async () => {
    const { c, esms } = await setup(
      {
        quietHours: { from: '22:00', to: '06:00', severities: ['minor', 'warning'] },
        routes: [{ id: 'all', steps: [{ to: ['supervisor'] }] }],
      },
      ELEVEN_PM_LOCAL,
    );
    await c.event(waterEvent({ sourceId: 'noise-1', ruleId: 'noise', category: 'noise', severity: 'minor', ts: ELEVEN_PM_LOCAL }));
    await c.event(waterEvent({ ts: ELEVEN_PM_LOCAL }));
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    expect(esms.messages[0]!.content).toContain('KHAN CAP');
    const sixLocal = Date.UTC(2026, 10, 26, 23, 0, 0);
    c.clock.t = sixLocal - 1000;
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    c.clock.t = sixLocal;
    await c.module.tick();
    expect(esms.messages).toHaveLength(2);
    expect(esms.messages[1]!.content).toContain('CANH BAO #1');
  });

  it('groups a burst of related non-critical alarms into one message per recipient', async () => {
    const { c, esms } = await setup({
      grouping: { windowS: 30, maxAlarms: 10, immediateSeverities: ['critical'] },
      routes: [{ id: 'all', steps: [{ to: ['supervisor'] }] }],
    });
    const t0 = c.clock.t;
    for (let i = 0; i < 3; i++) {
      c.clock.t = t0 + i * 5000;
      await c.event(waterEvent({ sourceId: `station-${i}`, severity: 'major', ts: c.clock.t }));
    }
    await c.module.tick();
    expect(esms.messages).toHaveLength(0);
    c.clock.t = t0 + 41_000;
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    expect(esms.messages[0]!.content).toMatch(/3 canh bao moi.*#3.*#2.*#1|3 canh bao moi.*#1.*#2.*#3/);
    const ids = [1, 2, 3].map((id) => c.module.notifier!.notificationsFor(id)[0]!);
    expect(new Set(ids.map((r) => r.providerId)).size).toBe(1);
    expect(ids.every((r) => r.state === 'accepted')).toBe(true);
  });

  it('when the condition clears, those who were told hear that it is over (notifyClear), and pending steps are cancelled', async () => {
    const { c, esms } = await setup({
      routes: [{ id: 'all', notifyClear: true, steps: [{ to: ['supervisor'] }, { afterMin: 10, to: ['tech-night'] }] }],
    });
    await c.event(waterEvent());
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    c.clock.t += 5 * MIN;
    await c.event(waterEvent({ state: 'cleared', ts: waterEvent().ts + 5 * MIN, value: 1.5 }));
    await c.module.tick();
    expect(esms.messages).toHaveLength(2);
    expect(esms.messages[1]).toMatchObject({ phone: SUPERVISOR_PHONE });
    expect(esms.messages[1]!.content).toMatch(/Da het: #1/);
    c.clock.t += 10 * MIN;
    await c.module.tick();
    expect(esms.messages).toHaveLength(2);
  });

  it('a bare "OK" acknowledges when exactly one active alarm was sent to that person', async () => {
    const { c } = await setup({ routes: [{ id: 'all', steps: [{ to: ['supervisor'] }] }] });
    await c.event(waterEvent());
    await c.module.tick();
    const res = await fetch(`${c.url}/api/notify/sms/inbound?token=${CALLBACK_TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Phone=84905999888&Content=Ok',
    });
    expect(await res.json()).toMatchObject({ acked: 1 });
    expect((await c.api('GET', '/alarms/1', undefined, { user: 'v', role: 'viewer' })).body.alarm).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'supervisor',
    });
  });

  it('per-channel rate limits queue messages instead of dropping them', async () => {
    const { c, esms } = await setup({
      rateLimits: { sms: { perMinute: 1 } },
      routes: [{ id: 'all', steps: [{ to: ['supervisor', 'tech-night'] }] }],
    });
    await c.event(waterEvent());
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    c.clock.t += 30_000;
    await c.module.tick();
    expect(esms.messages).toHaveLength(1);
    c.clock.t += 31_000;
    await c.module.tick();
    expect(esms.messages.map((m) => m.phone).sort()).toEqual(['84905333444', SUPERVISOR_PHONE]);
  });

  it('a recipient acknowledges by replying "OK <id>" by SMS or Zalo; strangers and un-notified alarms are ignored', async () => {
    const { c, zalo, esms } = await setup();
    await c.event(waterEvent());
    await c.event(waterEvent({ sourceId: 'other', ward: 'an-phu' }));
    await c.module.tick();
    expect(zalo.messages).toHaveLength(1); // both due together for the same person: one grouped message
    expect(zalo.messages[0]!.templateData.count).toBe('2');
    const inbound = (body: unknown, token = CALLBACK_TOKEN) =>
      fetch(`${c.url}/api/notify/sms/inbound?token=${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    expect((await inbound({ Phone: '0905999888', Content: 'OK 1' }, 'wrong-token-000000')).status).toBe(403);
    expect((await inbound({ Phone: '0900000000', Content: 'OK 1' })).body.ignored).toBe('unknown sender');
    expect((await inbound({ Phone: '0905999888', Content: 'OK 1' })).body.ignored).toBe('not notified about this alarm');
    expect((await inbound({ Phone: '0905111222', Content: 'OK' })).body.ignored).toMatch(/several alarms open/);
    expect((await inbound({ Phone: '0905111222', Content: 'OK 1' })).body).toMatchObject({ acked: 1 });
    const alarm1 = (await c.api('GET', '/alarms/1', undefined, { user: 'v', role: 'viewer' })).body;
    expect(alarm1.alarm).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'tech-an-phu' });
    expect(alarm1.audit.at(-1).data.comment).toContain('reply via sms');

    // Zalo OA webhook, signed as Zalo signs it
    const event = {
      app_id: zalo.appId,
      event_name: 'user_send_text',
      timestamp: String(Date.now()),
      sender: { id: 'zalo-user-tech' },
      message: { text: 'ok 2', msg_id: 'm1' },
    };
    const mac = createHash('sha256')
      .update(`${zalo.appId}${JSON.stringify(event)}${event.timestamp}oa-secret`)
      .digest('hex');
    const post = (sig: string) =>
      fetch(`${c.url}/api/notify/zalo/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-zevent-signature': `mac=${sig}` },
        body: JSON.stringify(event),
      });
    expect((await post('0'.repeat(64))).status).toBe(403);
    expect(await (await post(mac)).json()).toMatchObject({ acked: 2 });
    expect((await inbound({ Phone: '0905111222', Content: 'ok' })).body.ignored).toBe('no open alarm');
    // Zalo's delivery event marks the ZNS message delivered
    const received = { ...event, event_name: 'user_received_message', message: { msg_id: zalo.messages[0]!.msgId } };
    const mac2 = createHash('sha256')
      .update(`${zalo.appId}${JSON.stringify(received)}${received.timestamp}oa-secret`)
      .digest('hex');
    await fetch(`${c.url}/api/notify/zalo/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zevent-signature': `mac=${mac2}` },
      body: JSON.stringify(received),
    });
    expect(c.module.notifier!.notificationsFor(2)[0]!.state).toBe('delivered');
    expect(c.broadcasts.filter((b) => b.message.alarm?.state === 'acknowledged')).toHaveLength(2);
    expect(esms.messages).toHaveLength(0);
  });
});
