import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir, waitFor } from '@tamky/test-support';
import { startAlarmsContext, waterEvent } from './fakes/alarms-context';
import { startFakeEsms } from './fakes/esms';
import { startFakeZalo } from './fakes/zalo';
import { floodPolicy, SUPERVISOR_PHONE, TECH_PHONE } from './fakes/policy';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('durable outbox across a crash in the middle of sending', () => {
  it('sends nothing twice and loses nothing: claimed rows are resent with the same idempotency keys after restart', async () => {
    const zalo = await startFakeZalo();
    const esms = await startFakeEsms();
    closers.push(zalo.close, esms.close);
    const dbFile = join(tempDir('outbox-restart'), 'state.db');
    const policy = floodPolicy(zalo, esms, {
      routes: [
        {
          id: 'flood',
          match: { categories: ['water'] },
          steps: [{ to: ['tech-an-phu', 'supervisor'] }, { afterMin: 10, to: ['tech-night'] }],
        },
      ],
    });

    // Providers accept the messages but their answers never arrive: the process dies mid-send.
    zalo.state.stall = true;
    esms.state.stall = true;
    const a = await startAlarmsContext({ dbFile, config: { notify: policy } });
    const t0 = a.clock.t;
    await a.event(waterEvent());
    void a.module.tick();
    await waitFor(() => zalo.messages.length === 1 && esms.messages.length === 1, { what: 'both providers received the message' });
    const states = a.db.prepare('SELECT recipient, state FROM notifications ORDER BY id').all();
    expect(states).toEqual([
      { recipient: 'tech-an-phu', state: 'sending' },
      { recipient: 'supervisor', state: 'sending' },
    ]);
    await a.crash();

    zalo.state.stall = false;
    esms.state.stall = false;
    const b = await startAlarmsContext({ dbFile, startAt: t0 + 1000, config: { notify: policy } });
    closers.push(b.close);
    await b.module.tick();
    // the resends were recognised by the providers (Zalo tracking_id, eSMS RequestId → 124)
    expect(zalo.messages.map((m) => m.phone)).toEqual([TECH_PHONE]);
    expect(esms.messages.map((m) => m.phone)).toEqual([SUPERVISOR_PHONE]);
    expect(zalo.state.sendCalls).toBe(2);
    expect(esms.state.calls).toBe(2);
    expect(b.module.notifier!.notificationsFor(1).map((r) => [r.recipient, r.state, r.attempts])).toEqual([
      ['tech-an-phu', 'accepted', 2],
      ['supervisor', 'accepted', 2],
    ]);
    expect(b.module.notifier!.notificationsFor(1)[0]!.providerId).toBe(zalo.messages[0]!.msgId);

    // and the escalation planned before the crash still fires on time
    b.clock.t = t0 + 10 * 60_000;
    await b.module.tick();
    expect(esms.messages.map((m) => m.phone)).toEqual([SUPERVISOR_PHONE, '84905333444']);
  });

  it('a redelivered alarm event after restart does not plan the same notifications again', async () => {
    const esms = await startFakeEsms();
    closers.push(esms.close);
    const dbFile = join(tempDir('outbox-redeliver'), 'state.db');
    const policy = floodPolicy(undefined, esms, { routes: [{ id: 'flood', steps: [{ to: ['supervisor'] }] }] });
    const a = await startAlarmsContext({ dbFile, config: { notify: policy } });
    await a.event(waterEvent());
    await a.module.tick();
    await a.close();
    const b = await startAlarmsContext({ dbFile, config: { notify: policy } });
    closers.push(b.close);
    await b.event(waterEvent());
    await b.event(waterEvent({ ts: waterEvent().ts + 1 }));
    await b.module.tick();
    expect(esms.messages).toHaveLength(1);
  });
});
