import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alarmEventSchema, gatewayHealthSchema, type AlarmEvent, type SystemHealthInput, systemHealthSchema } from '@tamky/protocol';
import { loadLimits } from '@tamky/service-kit';
import { LIMITS_DIR, testCity } from './helpers/fixtures';
import { createAlarmDetector, loadRules } from '../src/alarms';

/**
 * System rules of config/rules/default.yaml, as shipped: each check raises through the detector, clears itself
 * once the measurement is back past its clear value, and a subject that is no longer reported clears.
 */
const rules = loadRules(join(import.meta.dirname, '../../config/rules/default.yaml')).filter((r) => r.type === 'system');
const T0 = Date.UTC(2026, 11, 7, 2, 0, 0);

function harness() {
  const events: AlarmEvent[] = [];
  const detector = createAlarmDetector({
    rules,
    city: testCity(),
    aqiLevels: loadLimits(LIMITS_DIR).vnAqi.levels,
    publish: async (_topic, event) => {
      events.push(alarmEventSchema.parse(event));
    },
  });
  let ts = T0;
  const report = async (service: string, samples: SystemHealthInput['samples']) => {
    ts += 1000;
    detector.onSystemHealth!(systemHealthSchema.parse({ service, ts, samples }), ts);
    await new Promise((r) => setImmediate(r));
  };
  const states = () => events.map((e) => `${e.ruleId}:${e.sourceId}:${e.state}`);
  return { events, report, states };
}

describe('system alarms (default rules)', () => {
  it('store disk: warning at 80 %, major at 90 %, each clearing itself past its margin', async () => {
    const { events, report, states } = harness();
    const disk = (used: number) => [
      { check: 'disk_used_percent' as const, subject: 'store', value: used, detail: { path: '/data', freeMb: 12 } },
    ];
    await report('ingest-1', disk(50));
    expect(events.filter((e) => e.state === 'raised')).toEqual([]);
    await report('ingest-1', disk(85));
    expect(states().filter((s) => s.endsWith(':raised'))).toEqual(['service-disk-80:ingest-1.store:raised']);
    await report('ingest-1', disk(95.04));
    const major = events.find((e) => e.ruleId === 'service-disk-90' && e.state === 'raised')!;
    expect(major).toMatchObject({ severity: 'major', category: 'system', value: 95, limit: 90 });
    expect(major.message.en).toBe('ingest-1: disk /data 95% used (limit 90%), 12 MB free');
    expect(major.message.vi).toBe('ingest-1: ổ đĩa /data đã dùng 95% (ngưỡng 90%), còn trống 12 MB');
    const n = events.length;
    await report('ingest-1', disk(89)); // under 90 but within the margin: still major
    expect(events.slice(n).filter((e) => e.state === 'cleared')).toEqual([]);
    await report('ingest-1', disk(40));
    expect(
      events
        .slice(n)
        .filter((e) => e.state === 'cleared')
        .map((e) => e.ruleId)
        .sort(),
    ).toEqual(['service-disk-80', 'service-disk-90']);
  });

  it('store refusing writes: raised after 30 s of refusals, cleared by the first durable write', async () => {
    const { events, report } = harness();
    const failing = (s: number) => [
      { check: 'store_write_failing_s' as const, subject: 'store', value: s, detail: { error: 'SQLITE_FULL' } },
    ];
    await report('ingest-1', failing(0));
    await report('ingest-1', failing(12));
    expect(events.filter((e) => e.state === 'raised')).toEqual([]);
    await report('ingest-1', failing(31));
    const raised = events.find((e) => e.state === 'raised')!;
    expect(raised).toMatchObject({ ruleId: 'store-refusing-writes', sourceId: 'ingest-1.store', severity: 'major' });
    expect(raised.message.en).toBe('ingest-1: the store has refused writes for 31 s (SQLITE_FULL); readings wait in the broker');
    await report('ingest-1', failing(0));
    expect(events.at(-1)).toMatchObject({ ruleId: 'store-refusing-writes', state: 'cleared' });
  });

  it('ingest lag: raised at 60 s for the oldest unacknowledged message, cleared under 10 s', async () => {
    const { events, report } = harness();
    const lag = (s: number) => [{ check: 'ingest_lag_s' as const, subject: 'acks', value: s }];
    await report('ingest-1', lag(75));
    expect(events.at(-1)).toMatchObject({ ruleId: 'ingest-lag', state: 'raised', value: 75, limit: 60 });
    await report('ingest-1', lag(30));
    expect(events.at(-1)!.state).toBe('raised');
    await report('ingest-1', lag(2));
    expect(events.at(-1)).toMatchObject({ ruleId: 'ingest-lag', state: 'cleared' });
  });

  it('broker connections near the limit, and an offline session whose queue grows, then drains', async () => {
    const { events, report } = harness();
    const conns = (pct: number, count: number) => ({
      check: 'broker_connections_percent' as const,
      subject: 'connections',
      value: pct,
      detail: { count, max: 5000 },
    });
    const queue = (client: string, n: number) => ({ check: 'session_queue' as const, subject: client, value: n, detail: { client } });
    await report('broker', [conns(82, 4100), queue('ingest-1', 25_000)]);
    const raised = events.filter((e) => e.state === 'raised');
    expect(raised.map((e) => `${e.ruleId}:${e.sourceId}`).sort()).toEqual([
      'broker-connections:broker.connections',
      'session-queue:broker.ingest-1',
    ]);
    expect(raised.find((e) => e.ruleId === 'broker-connections')!.message.en).toBe('broker: 4,100 of 5,000 connections (82%, limit 80%)');
    expect(raised.find((e) => e.ruleId === 'session-queue')!.message.vi).toBe(
      'broker: phiên ingest-1 ngoại tuyến có 25.000 bản tin đang chờ (ngưỡng 10.000)',
    );
    const n = events.length;
    // The session came back and drained: the broker reports it no more.
    await report('broker', [conns(40, 2000)]);
    expect(
      events
        .slice(n)
        .map((e) => `${e.ruleId}:${e.state}`)
        .sort(),
    ).toEqual(['broker-connections:cleared', 'session-queue:cleared']);
  });

  it('certificate expiry: a warning 30 days ahead, major at 7, cleared once a renewed certificate is in place', async () => {
    const { events, report } = harness();
    const cert = (days: number) => [
      {
        check: 'cert_days_left' as const,
        subject: 'gw-an-my.crt',
        value: days,
        detail: { file: 'gw-an-my.crt', cn: 'gw-an-my', notAfter: '2026-12-20' },
      },
    ];
    await report('broker', cert(200));
    expect(events.filter((e) => e.state === 'raised')).toEqual([]);
    await report('broker', cert(25));
    expect(events.at(-1)).toMatchObject({ ruleId: 'cert-expiry-30d', state: 'raised', severity: 'warning', value: 25 });
    expect(events.at(-1)!.message.en).toBe('Certificate gw-an-my (gw-an-my.crt) expires on 2026-12-20, 25 days left');
    await report('broker', cert(6));
    expect(events.at(-1)).toMatchObject({ ruleId: 'cert-expiry-7d', state: 'raised', severity: 'major' });
    await report('broker', cert(825));
    expect(
      events
        .slice(-2)
        .map((e) => `${e.ruleId}:${e.state}`)
        .sort(),
    ).toEqual(['cert-expiry-30d:cleared', 'cert-expiry-7d:cleared']);
  });
});

describe('gateway health arriving late', () => {
  it('a report older than one already judged (redelivered from a session queue) does not clear a full disk', async () => {
    const events: AlarmEvent[] = [];
    const detector = createAlarmDetector({
      rules: loadRules(join(import.meta.dirname, '../../config/rules/default.yaml')).filter((r) => r.type === 'gateway_disk'),
      city: testCity(),
      aqiLevels: loadLimits(LIMITS_DIR).vnAqi.levels,
      publish: async (_topic, event) => {
        events.push(alarmEventSchema.parse(event));
      },
    });
    const GB = 1024 ** 3;
    const health = (ts: number, uptimeS: number, usedPct: number) =>
      gatewayHealthSchema.parse({
        gateway: 'gw-a',
        ts,
        uptimeS,
        version: '1',
        configHash: 'x',
        cpuPct: 1,
        rssBytes: 1,
        diskFreeBytes: GB * (1 - usedPct / 100),
        diskTotalBytes: GB,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0 },
        devices: [],
      });
    const settle = () => new Promise((r) => setImmediate(r));
    detector.onGatewayHealth!(health(T0 + 10_000, 100, 99), T0);
    await settle();
    expect(events.filter((e) => e.state === 'raised').map((e) => e.ruleId)).toEqual(['gateway-disk-80', 'gateway-disk-90']);
    // Taken before the disk filled, delivered after: ignored.
    detector.onGatewayHealth!(health(T0 + 2_000, 92, 10), T0);
    await settle();
    expect(events.filter((e) => e.state === 'cleared')).toEqual([]);
    // The clock stepped back an hour but uptime went on: a real report, judged.
    detector.onGatewayHealth!(health(T0 - 3_600_000, 102, 10), T0);
    await settle();
    expect(events.filter((e) => e.state === 'cleared').map((e) => e.ruleId)).toEqual(['gateway-disk-80', 'gateway-disk-90']);
  });
});
