import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from '@tamky/test-support';
import { startAlarmsContext, waterEvent, type AlarmsContext } from './fakes/alarms-context';
import { startFakeEsms, type FakeEsms } from './fakes/esms';
import { startFakeZalo, type FakeZalo } from './fakes/zalo';
import { floodPolicy, SUPERVISOR_PHONE, TECH_PHONE } from './fakes/policy';
import { normalisePhone, parseAckReply, foldVietnamese, loadNotifyPolicy } from '../src/notify';
import { writeFileSync } from 'node:fs';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function setup(): Promise<{ c: AlarmsContext; zalo: FakeZalo; esms: FakeEsms }> {
  const zalo = await startFakeZalo();
  const esms = await startFakeEsms();
  closers.push(zalo.close, esms.close);
  const c = await startAlarmsContext({ dbFile: join(tempDir('notify'), 'state.db'), config: { notify: floodPolicy(zalo, esms) } });
  closers.push(c.close);
  return { c, zalo, esms };
}

const rows = (c: AlarmsContext, alarmId: number) => c.module.notifier!.notificationsFor(alarmId);
const alarmIds = async (c: AlarmsContext) =>
  ((await c.api('GET', '/alarms', undefined, { user: 'v', role: 'viewer' })).body.alarms as Array<{ id: string; sourceId: string }>).map(
    (a) => ({ ...a, id: Number(a.id) }),
  );

describe('notification channels against local provider peers', () => {
  it('Zalo ZNS first: the on-call technician gets the template with place, value, limit and a link; the first token comes from the refresh token', async () => {
    const { c, zalo } = await setup();
    await c.event(waterEvent());
    await c.module.tick();
    expect(zalo.messages).toHaveLength(1);
    const m = zalo.messages[0]!;
    expect(m.phone).toBe(TECH_PHONE);
    expect(m.templateId).toBe('tpl-alarm');
    // Vietnamese recipient: numbers written the Vietnamese way, as inside the message.
    expect(m.templateData).toMatchObject({
      alarm_id: '1',
      severity: 'critical',
      value: '3,2',
      limit: '3',
      link: 'http://ioc.test/alarms/1',
    });
    expect(m.templateData.message).toContain('An Phú');
    expect(zalo.spentRefresh).toEqual(['refresh-0']);
    expect(rows(c, 1)).toMatchObject([{ recipient: 'tech-an-phu', channel: 'zalo', state: 'accepted', providerId: m.msgId }]);
    // the detail view shows the notification trail
    const detail = await c.api('GET', '/alarms/1', undefined, { user: 'v', role: 'viewer' });
    expect(detail.body.notifications[0]).toMatchObject({ recipient: 'tech-an-phu', channel: 'zalo', state: 'accepted' });
  });

  it('−124: refreshes with the single-use refresh token (stored atomically, one refresher) and retries once', async () => {
    const { c, zalo } = await setup();
    await c.event(waterEvent());
    await c.module.tick();
    zalo.expireAccessTokens();
    await c.event(waterEvent({ sourceId: 'an-phu-water-2', device: 'an-phu-water-2' }));
    await c.module.tick();
    expect(zalo.messages).toHaveLength(2);
    expect(zalo.spentRefresh).toHaveLength(2);
    const stored = c.db.prepare("SELECT refresh_token FROM notify_tokens WHERE provider = 'zalo'").get() as { refresh_token: string };
    expect(zalo.spentRefresh).not.toContain(stored.refresh_token); // the DB holds the fresh, unspent one
    // concurrent refreshes for the same stale token share one call to Zalo
    zalo.state.refreshDelayMs = 100;
    const tokens = c.module.notifier!.zaloTokens!;
    const before = zalo.state.refreshCalls;
    const current = await tokens.get();
    expect(await tokens.refresh('some-older-token')).toBe(current); // someone already refreshed: no call
    const [a, b] = await Promise.all([tokens.refresh(current), tokens.refresh(current)]);
    expect(a).not.toBe(current);
    expect(a).toBe(b);
    expect(zalo.state.refreshCalls - before).toBe(1);
  });

  it('two server processes sharing the state DB refresh the single-use token once (DB lease), and both end up with the new token', async () => {
    const zalo = await startFakeZalo();
    closers.push(zalo.close);
    const file = join(tempDir('zalo-lease'), 'state.db');
    const { openStateDb, migrate } = await import('../src/state-db');
    const { NOTIFY_MIGRATIONS } = await import('../src/notify/outbox');
    const { createZaloTokens } = await import('../src/notify/channels/zalo-tokens');
    const dbA = openStateDb(file);
    const dbB = openStateDb(file);
    closers.push(async () => {
      dbA.close();
      dbB.close();
    });
    migrate(dbA, NOTIFY_MIGRATIONS);
    const cfg = {
      tokenUrl: `${zalo.url}/v4/oa/access_token`,
      appId: zalo.appId,
      secretKey: zalo.secretKey,
      refreshToken: 'refresh-0',
      timeoutMs: 5000,
    };
    const a = createZaloTokens(dbA, cfg, Date.now);
    const b = createZaloTokens(dbB, cfg, Date.now);
    zalo.state.refreshDelayMs = 300;
    const [ta, tb] = await Promise.all([a.get(), b.get()]);
    expect(ta).toBe(tb);
    expect(zalo.state.refreshCalls).toBe(1);
    expect(zalo.spentRefresh).toEqual(['refresh-0']);
  });

  it('−118 (no Zalo account) falls back to brandname SMS without diacritics; the eSMS delivery callback marks it delivered', async () => {
    const { c, zalo, esms } = await setup();
    zalo.withoutZalo(TECH_PHONE);
    await c.event(waterEvent());
    await c.module.tick();
    await c.module.tick();
    expect(zalo.messages).toHaveLength(0);
    expect(esms.messages).toHaveLength(1);
    const sms = esms.messages[0]!;
    expect(sms.phone).toBe(TECH_PHONE);
    expect(sms.content).toContain('Do muc nuoc An Phu');
    expect(sms.content).toContain('http://ioc.test/alarms/1');
    expect(sms.content).toContain('OK 1');
    expect(sms.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(rows(c, 1).map((r) => [r.channel, r.state])).toEqual([
      ['zalo', 'fallback'],
      ['sms', 'accepted'],
    ]);
    expect(sms.callbackUrl).toMatch(/^http:\/\/ioc\.test\/api\/notify\/esms\/callback\?token=/);
    expect(await esms.deliver(sms, true, c.url)).toBe(200);
    expect(rows(c, 1)[1]!.state).toBe('delivered');
  });

  it('−100 is retried with backoff; other Zalo errors give up; eSMS 103 retries, 146 gives up', async () => {
    const { c, zalo, esms } = await setup();
    zalo.failNext(-100);
    await c.event(waterEvent());
    await c.module.tick();
    expect(rows(c, 1)[0]).toMatchObject({ state: 'pending', attempts: 1 });
    expect(rows(c, 1)[0]!.error).toContain('-100');
    c.clock.t += 10_000;
    await c.module.tick();
    expect(rows(c, 1)[0]).toMatchObject({ state: 'accepted', attempts: 2 });

    zalo.failNext(-108);
    await c.event(waterEvent({ sourceId: 's2' }));
    await c.module.tick();
    await c.module.tick();
    const [second] = (await alarmIds(c)).filter((a) => a.sourceId === 's2');
    expect(rows(c, second!.id).map((r) => r.state)).toEqual(['failed']);
    expect(rows(c, second!.id)[0]!.error).toContain('-108');

    // supervisor step (SMS only) 10 min later: 103 insufficient balance retries, 146 template mismatch is final
    esms.failNext('103');
    c.clock.t += 10 * 60_000;
    await c.module.tick();
    const sup = rows(c, 1).find((r) => r.recipient === 'supervisor')!;
    expect(sup).toMatchObject({ channel: 'sms', state: 'pending' });
    expect(sup.error).toContain('103');
    c.clock.t += 11 * 60_000;
    esms.failNext('146');
    await c.module.tick();
    expect(rows(c, 1).find((r) => r.recipient === 'supervisor')).toMatchObject({ state: 'failed' });
    expect(esms.messages.filter((m) => m.phone === SUPERVISOR_PHONE)).toHaveLength(0);
  });

  it('the shipped Tam Kỳ policy loads (secrets from the environment); a bad policy names the file and the field', () => {
    process.env.ZALO_APP_ID = 'app-from-env';
    const policy = loadNotifyPolicy(join(import.meta.dirname, '../../../config/notify/policy.yaml'));
    expect(policy.providers.zalo?.appId).toBe('app-from-env');
    expect(policy.routes.map((r) => r.id)).toContain('flood');
    const file = join(tempDir('policy'), 'bad.yaml');
    writeFileSync(
      file,
      'recipients:\n  - { id: a, name: A, phone: "0905111222", channels: [sms] }\nroutes:\n  - { id: r, steps: [{ to: [group:nobody] }] }\n',
    );
    expect(() => loadNotifyPolicy(file)).toThrow(/bad\.yaml: routes\[0\]\.steps\[0\]\.to\[0\]: unknown recipient or group "group:nobody"/);
    expect(() => loadNotifyPolicy(file)).toThrow(/recipients\[0\]\.channels\[0\]: channel sms has no provider configured/);
  });

  it('phone numbers normalise to 84…; replies parse; SMS text folds Vietnamese', () => {
    expect(normalisePhone('0905 111 222')).toBe('84905111222');
    expect(normalisePhone('+84 905-111-222')).toBe('84905111222');
    expect(normalisePhone('84905111222')).toBe('84905111222');
    expect(normalisePhone('12')).toBeUndefined();
    expect(parseAckReply('ok 123')).toBe(123);
    expect(parseAckReply(' OK #7 đã nhận')).toBe(7);
    expect(parseAckReply('XN 9')).toBe(9);
    expect(parseAckReply('hello')).toBeUndefined();
    expect(foldVietnamese('Mực nước Đà Nẵng — BÁO ĐỘNG 3')).toBe('Muc nuoc Da Nang  BAO DONG 3');
  });

  it('waits for the recipient reachable: a channel without a configured provider is skipped in the chain', async () => {
    const esms = await startFakeEsms();
    closers.push(esms.close);
    const c = await startAlarmsContext({
      dbFile: join(tempDir('notify'), 'state.db'),
      config: {
        notify: floodPolicy(undefined, esms, {
          recipients: [
            { id: 'tech-an-phu', name: 'KT', phone: '0905111222', channels: ['sms'] },
            { id: 'tech-night', name: 'N', phone: '0905333444', channels: ['sms'] },
            { id: 'supervisor', name: 'S', phone: '0905999888', channels: ['sms'] },
          ],
        }),
      },
    });
    closers.push(c.close);
    await c.event(waterEvent());
    await c.module.tick();
    expect(esms.messages.map((m) => m.phone)).toEqual([TECH_PHONE]);
  });
});
