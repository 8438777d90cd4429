import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryBatchSchema, topics, type Reading } from '@tamky/protocol';
import { startMosquitto, tempDir, waitFor } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { GatewayClock } from '../src/clock';
import { gatewayConfigSchema, Outbox, startGateway, type Gateway } from '../src/index';
import { collector, switchableProxy } from './helpers/broker';
import { quietLog, simCity, simDevice } from './helpers/sim';

const T = 1_790_000_000_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A wall clock that steps when told and a monotonic clock that only moves forward. */
function clocks() {
  let mono = 1_000;
  let offset = T - mono;
  return {
    wall: () => mono + offset,
    mono: () => mono,
    pass: (ms: number) => (mono += ms),
    step: (ms: number) => (offset += ms),
  };
}

describe('GatewayClock', () => {
  it('follows slewing without a step; a step back starts an era and moves a stamp taken before it by exactly the step', () => {
    const c = clocks();
    const clock = new GatewayClock({ wall: c.wall, mono: c.mono, stepMs: 1000, era: 0, lastTs: 0 });
    expect(clock.check()).toBeUndefined();
    const first = c.wall();
    expect(clock.place('aq-1', first)).toEqual({ ts: first, era: 0 });
    // NTP slews 300 ms over 10 s, twice: drift below the step size never adds up to a step.
    for (let i = 0; i < 2; i++) {
      c.pass(10_000);
      c.step(300);
      expect(clock.check()).toBeUndefined();
    }
    c.pass(1_000);
    const beforeStep = c.wall(); // a Modbus poll stamped here, its answer delivered after the step
    c.pass(200);
    c.step(-HOUR);
    expect(clock.check()).toEqual({ deltaMs: -HOUR, era: 1 });
    expect(clock.place('aq-1', beforeStep)).toEqual({ ts: beforeStep - HOUR, clock: 'corrected', era: 1 });
    c.pass(1_000);
    const after = c.wall();
    expect(clock.place('aq-1', after)).toEqual({ ts: after, era: 1 });
    expect(clock.state()).toMatchObject({ era: 1, steps: 1, lastStepMs: -HOUR, synced: true });
  });

  it('a step forward keeps the era; a stamp not later than the same device’s last starts one; a start behind the last run’s newest stamp too', () => {
    const c = clocks();
    const clock = new GatewayClock({ wall: c.wall, mono: c.mono, stepMs: 1000, era: 4, lastTs: T - 60_000 });
    expect(clock.era).toBe(4);
    const a = c.wall();
    clock.place('aq-1', a);
    c.pass(500);
    const stamped = c.wall();
    c.step(DAY);
    expect(clock.check()).toEqual({ deltaMs: DAY, era: 4 });
    expect(clock.place('aq-1', stamped)).toEqual({ ts: stamped + DAY, clock: 'corrected', era: 4 });
    // A step back smaller than stepMs (not seen as a step) still cannot give one device the same time twice.
    c.pass(1000);
    const t1 = c.wall();
    expect(clock.place('wl-1', t1).era).toBe(4);
    c.step(-900);
    expect(clock.check()).toBeUndefined();
    c.pass(100);
    expect(clock.place('wl-1', c.wall())).toEqual({ ts: t1 - 800, era: 5 });
    expect(clock.lastTs).toBe(t1);

    // The next run starts with its clock behind the newest stamp (a box without RTC restored an old time).
    const again = clocks();
    expect(new GatewayClock({ wall: again.wall, mono: again.mono, stepMs: 1000, era: 5, lastTs: stamped + DAY }).era).toBe(6);
    expect(new GatewayClock({ wall: again.wall, mono: again.mono, stepMs: 1000, era: 5, lastTs: T - 1 }).era).toBe(5);
  });

  it('marks stamps taken while the system says the clock is not synchronised', () => {
    const c = clocks();
    let synced = false;
    const clock = new GatewayClock({ wall: c.wall, mono: c.mono, stepMs: 1000, synced: () => synced, era: 0, lastTs: 0 });
    expect(clock.place('aq-1', c.wall())).toEqual({ ts: T, clock: 'unsynced', era: 0 });
    synced = true;
    c.pass(1000);
    expect(clock.place('aq-1', c.wall())).toEqual({ ts: T + 1000, era: 0 });
  });
});

describe('outbox after a clock step', () => {
  it('moves only rows never published, marks them, and keeps era and newest time across a reopen', () => {
    const path = join(tempDir('edge-clock-outbox'), 'o.db');
    const opts = { path, maxReadings: 1000, maxAgeMs: 7 * DAY, synchronous: 'normal' as const, now: () => T };
    const a = new Outbox(opts, quietLog);
    expect(a.clockState()).toEqual({ era: 0, lastTs: 0 });
    a.addReadings(
      Array.from({ length: 10 }, (_, i) => ({ device: `d${i % 2}`, ts: T + i * 1000, vals: '{"x":{"v":1,"u":"m"}}' })),
      { era: 0, lastTs: T + 9000 },
    );
    expect(a.moveUnsent(6, -HOUR, 1)).toEqual(
      expect.arrayContaining([
        ['d0', T + 8000 - HOUR],
        ['d1', T + 9000 - HOUR],
      ]),
    );
    const rows = a.nextTelemetry(0, 100);
    expect(rows.slice(0, 6).map((r) => [r.ts, r.clock, r.era])).toEqual(Array.from({ length: 6 }, (_, i) => [T + i * 1000, null, 0]));
    expect(rows.slice(6).map((r) => [r.ts, r.clock, r.era])).toEqual(
      Array.from({ length: 4 }, (_, i) => [T + (6 + i) * 1000 - HOUR, 'corrected', 1]),
    );
    a.saveClock({ era: 1, lastTs: T + 9000 });
    a.close();
    const b = new Outbox(opts, quietLog);
    expect(b.clockState()).toEqual({ era: 1, lastTs: T + 9000 });
    expect(b.maxSeq()).toBe(10);
    b.close();
  });
});

/**
 * A real gateway whose clock steps back an hour while its link is down (readings wait in the outbox), then
 * forward a day while it is up: every seq arrives once, the waiting readings are moved by exactly the step
 * and marked, and within one era each device's timestamps strictly increase.
 */
describe('a gateway whose clock steps', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let link: Awaited<ReturnType<typeof switchableProxy>>;
  let slave: TcpSlave;
  let gw: Gateway;
  let sub: Awaited<ReturnType<typeof collector>>;
  let offset = 0;

  beforeAll(async () => {
    broker = await startMosquitto();
    link = await switchableProxy(broker.port);
    await link.up();
    const sims = Array.from({ length: 3 }, (_, i) =>
      createSimDevice(simDevice('noise_meter', `noise-${i}`), { city: simCity, unitId: i + 1 }),
    );
    slave = await startModbusTcpSlave(sims, { log: quietLog });
    sub = await collector(broker.url, topics.telemetry('gw-clock'), 'edge-clock-sub');
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-clock',
      mqtt: { url: link.url, reconnect: { baseMs: 100, maxMs: 500 } },
      outbox: { path: join(tempDir('edge-clock'), 'gw.db') },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: sims.map((s, i) => ({ id: s.id, profile: 'noise_meter', bus: 'tcp-1', unitId: i + 1, pollIntervalMs: 200 })),
    });
    gw = await startGateway(config, { logger: quietLog, now: () => Date.now() + offset });
  });

  afterAll(async () => {
    await gw?.close();
    await sub?.close();
    await link?.down();
    await slave?.close();
    await broker?.stop();
  });

  const received = (): Reading[] =>
    sub.messages.filter((m) => m.topic === topics.telemetry('gw-clock')).flatMap((m) => telemetryBatchSchema.parse(m.json).readings);

  it('moves the readings still in the outbox by the step, marks them, and loses or repeats none', async () => {
    await waitFor(() => received().length >= 15, { what: 'readings before the step' });
    const linkDownAt = Date.now();
    await link.down();
    await waitFor(() => gw.outboxDepth() >= 15, { what: 'readings waiting in the outbox' });
    offset -= HOUR;
    const steppedAt = Date.now();
    await waitFor(() => gw.health().clock?.steps === 1, { what: 'the step seen' });
    await waitFor(() => gw.outboxDepth() >= 30, { what: 'readings after the step' });
    await link.up();
    await waitFor(() => gw.outboxDepth() < 5 && received().filter((r) => r.era === 1 && !r.clock).length >= 10, {
      what: 'the outbox drained',
      timeoutMs: 20_000,
    });
    offset += DAY;
    await waitFor(() => gw.health().clock?.steps === 2, { what: 'the second step seen' });
    await waitFor(() => received().filter((r) => r.ts > Date.now() + DAY - HOUR - 60_000).length >= 10, { what: 'readings a day ahead' });
    await gw.close();

    const readings = received();
    const bySeq = new Map<number, Reading>();
    for (const r of readings) {
      const had = bySeq.get(r.seq);
      if (had) expect(r).toEqual(had); // a resend is the same reading, time included
      bySeq.set(r.seq, r);
    }
    // 1..max, none missing (the collector's session was never cut).
    expect(bySeq.size).toBe(Math.max(...bySeq.keys()));
    const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    // The readings that waited through the step back: taken between the link going down and the step, now an hour earlier.
    const movedBack = all.filter((r) => r.clock === 'corrected' && r.ts < Date.now());
    expect(movedBack.length).toBeGreaterThan(5);
    for (const r of movedBack) {
      expect(r.era).toBe(1);
      expect(r.ts).toBeGreaterThanOrEqual(linkDownAt - 5_000 - HOUR);
      expect(r.ts).toBeLessThanOrEqual(steppedAt + 1_000 - HOUR);
    }
    // Unmarked readings are on the clock as it was when they were taken: before the step, now, or a day ahead.
    expect(all.filter((r) => !r.clock && (r.era ?? 0) === 0).every((r) => r.ts <= steppedAt + 1_000)).toBe(true);
    // Within one era, each device's timestamps strictly increase in seq order.
    const last = new Map<string, number>();
    for (const r of all) {
      const key = `${r.era ?? 0}|${r.device}`;
      const prev = last.get(key);
      if (prev !== undefined) expect(r.ts).toBeGreaterThan(prev);
      last.set(key, r.ts);
    }
    expect(Math.max(...all.map((r) => r.era ?? 0))).toBe(1); // the step forward started no era
  });
});
