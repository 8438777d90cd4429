import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { tempDir, waitFor } from '@tamky/test-support';
import { parseNotifyPolicy } from '../src/notify';
import { startAlarmsContext, waterEvent } from './fakes/alarms-context';
import { json, listen, readBody } from './fakes/http';
import { startFakeSmsc } from './fakes/smpp';
import { startSmtpSink } from './fakes/smtp';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('SMPP, e-mail and webhook channels against real peers', () => {
  it('SMPP: submit_sm to the SMSC, the delivery receipt marks it delivered, a mobile-originated "OK <id>" acknowledges', async () => {
    const smsc = await startFakeSmsc();
    closers.push(smsc.close);
    const policy = parseNotifyPolicy({
      recipients: [{ id: 'duty', name: 'Trực ban', phone: '0905111222', channels: ['smpp'] }],
      routes: [{ id: 'all', steps: [{ to: ['duty'] }] }],
      grouping: { windowS: 0 },
      providers: { smpp: { url: smsc.url, systemId: smsc.systemId, password: smsc.password, sourceAddr: '8088' } },
    });
    const c = await startAlarmsContext({ dbFile: join(tempDir('smpp'), 'state.db'), config: { notify: policy } });
    closers.push(c.close);
    await c.event(waterEvent());
    await c.module.tick();
    expect(smsc.messages).toHaveLength(1);
    expect(smsc.messages[0]).toMatchObject({ from: '8088', to: '84905111222' });
    expect(smsc.messages[0]!.text).toContain('BAO DONG 2');
    await waitFor(() => c.module.notifier!.notificationsFor(1)[0]!.state === 'delivered', { what: 'SMPP delivery receipt' });
    expect(c.module.notifier!.notificationsFor(1)[0]!.providerId).toBe(smsc.messages[0]!.messageId);
    smsc.sendMo('84905111222', '8088', 'OK 1');
    await waitFor(
      async () => (await c.api('GET', '/alarms/1', undefined, { user: 'v', role: 'viewer' })).body.alarm.state === 'acknowledged',
      { what: 'ack by SMPP reply' },
    );
  });

  it('e-mail over SMTP (real socket) and a signed webhook with an idempotency key', async () => {
    const smtp = await startSmtpSink();
    closers.push(smtp.close);
    const hooks: Array<{ headers: Record<string, unknown>; body: string }> = [];
    const hook = await listen(async (req, res) => {
      hooks.push({ headers: req.headers, body: await readBody(req) });
      json(res, 200, { ok: true });
    });
    closers.push(hook.close);
    const policy = parseNotifyPolicy({
      locale: 'en',
      recipients: [
        { id: 'eng', name: 'Engineer', email: 'eng@tamky.gov.vn', channels: ['email'] },
        { id: 'ops-bot', name: 'Ops chat', webhookUrl: `${hook.url}/alarm`, channels: ['webhook'] },
      ],
      routes: [{ id: 'all', steps: [{ to: ['eng', 'ops-bot'] }] }],
      grouping: { windowS: 0 },
      providers: {
        email: { host: smtp.host, port: smtp.port, from: 'ioc@tamky.gov.vn' },
        webhook: { secret: 'hook-secret', allowHttp: true, allowNetworks: ['127.0.0.1/32'] },
      },
    });
    const c = await startAlarmsContext({ dbFile: join(tempDir('mail'), 'state.db'), config: { notify: policy } });
    closers.push(c.close);
    await c.event(waterEvent());
    await c.module.tick();
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(['eng@tamky.gov.vn']);
    expect(smtp.mails[0]!.data).toMatch(/Subject: \[IOC\] CRITICAL #1/);
    expect(smtp.mails[0]!.data).toContain('http://ioc.test/alarms/1');
    expect(hooks).toHaveLength(1);
    const sig = createHmac('sha256', 'hook-secret').update(hooks[0]!.body).digest('hex');
    expect(hooks[0]!.headers['x-signature-sha256']).toBe(sig);
    expect(hooks[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(hooks[0]!.body)).toMatchObject({ alarmIds: [1] });
    expect(c.module.notifier!.notificationsFor(1).map((r) => [r.channel, r.state])).toEqual([
      ['email', 'accepted'],
      ['webhook', 'accepted'],
    ]);
  });
});
