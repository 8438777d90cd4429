import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alarmEventSchema, cityModelSchema, topics, type AlarmEvent, type GatewayHealth, type StoredReading } from '@tamky/protocol';
import { loadLimits } from '@tamky/service-kit';
import { tempDir } from '@tamky/test-support';
import { LIMITS_DIR } from './helpers/fixtures';
import { alarmRuleSchema, createAlarmDetector, loadRules, sunElevationDeg, type AlarmRuleInput } from '../src/alarms';

const city = cityModelSchema.parse({
  id: 'test',
  name: 'Test',
  timeZone: 'Asia/Ho_Chi_Minh',
  lat: 15.5736,
  lon: 108.474,
  wards: [
    { id: 'an-my', name: 'An Mỹ', type: 'phuong', lat: 15.57, lon: 108.48, map: { x: 1, y: 1 } },
    { id: 'an-phu', name: 'An Phú', type: 'phuong', lat: 15.55, lon: 108.5, map: { x: 2, y: 2 } },
  ],
  gateways: [
    { id: 'gw-1', ward: 'an-my', name: 'GW 1' },
    { id: 'gw-2', ward: 'an-phu', name: 'GW 2' },
  ],
  devices: [
    {
      id: 'pm-1',
      kind: 'pm_sensor',
      name: 'Bụi An Mỹ',
      ward: 'an-my',
      gateway: 'gw-1',
      lat: 15.57,
      lon: 108.48,
      pollIntervalMs: 1000,
      tags: ['school'],
    },
    { id: 'pm-2', kind: 'pm_sensor', name: 'Bụi An Phú', ward: 'an-phu', gateway: 'gw-2', lat: 15.55, lon: 108.5, pollIntervalMs: 1000 },
    {
      id: 'water-1',
      kind: 'water_level',
      name: 'Mực nước An Phú',
      ward: 'an-phu',
      gateway: 'gw-2',
      lat: 15.55,
      lon: 108.5,
      alarmLevels: [2, 3, 4],
      mountingHeightM: 6,
    },
    { id: 'noise-1', kind: 'noise_meter', name: 'Ồn bệnh viện', ward: 'an-my', gateway: 'gw-1', lat: 15.57, lon: 108.48, zone: 'special' },
    {
      id: 'light-1',
      kind: 'street_light',
      name: 'Tủ đèn Phan Chu Trinh',
      ward: 'an-my',
      gateway: 'gw-1',
      lat: 15.57,
      lon: 108.48,
      lamps: 2,
      ratedPowerW: 100,
    },
    { id: 'air-1', kind: 'air_station', name: 'Trạm KK An Mỹ', ward: 'an-my', gateway: 'gw-1', lat: 15.57, lon: 108.48 },
  ],
});

const aqiLevels = loadLimits(LIMITS_DIR).vnAqi.levels;

function harness(rules: AlarmRuleInput[], publishFails = { value: false }) {
  const events: Array<{ topic: string; event: AlarmEvent }> = [];
  const detector = createAlarmDetector({
    rules: rules.map((r) => alarmRuleSchema.parse(r)),
    city,
    aqiLevels,
    publish: async (topic, event) => {
      if (publishFails.value) throw new Error('broker down');
      alarmEventSchema.parse(event);
      events.push({ topic, event });
    },
  });
  return { detector, events };
}

const reading = (device: string, kind: string, ts: number, values: Record<string, number>): StoredReading => {
  const d = city.devices.find((x) => x.id === device);
  return { kind, device, gateway: d?.gateway ?? 'gw-1', ward: d?.ward ?? 'an-my', ts, seq: ts, values };
};

// 2026-11-26 05:00 UTC = 12:00 local (noon); 17:00 UTC = 00:00 local (midnight).
const NOON = Date.UTC(2026, 10, 26, 5, 0, 0);
const MIDNIGHT = Date.UTC(2026, 10, 26, 17, 0, 0);
const MIN = 60_000;

describe('threshold rule', () => {
  const rule: AlarmRuleInput = {
    id: 'pm25',
    type: 'threshold',
    category: 'air',
    severity: 'major',
    kind: 'pm_sensor',
    field: 'pm25',
    op: '>=',
    value: 150,
    clearValue: 120,
    forS: 600,
    clearForS: 0,
    repeatEveryS: 300,
  };

  it('raises only after the value held for the duration, repeats with the new value, clears with hysteresis', async () => {
    const { detector, events } = harness([rule]);
    const t0 = NOON;
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0, { pm25: 160 })], t0);
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 5 * MIN, { pm25: 170 })], t0 + 5 * MIN);
    expect(events).toHaveLength(0);
    // dropping below the limit restarts the duration
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 6 * MIN, { pm25: 140 })], t0);
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 15 * MIN, { pm25: 160 })], t0);
    expect(events).toHaveLength(0);
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 25 * MIN, { pm25: 180 })], t0);
    expect(events).toHaveLength(1);
    const first = events[0]!;
    expect(first.topic).toBe(topics.alarmEvent('pm25', 'pm-1'));
    expect(first.event).toMatchObject({
      state: 'raised',
      severity: 'major',
      ward: 'an-my',
      device: 'pm-1',
      gateway: 'gw-1',
      kind: 'pm_sensor',
      field: 'pm25',
      value: 180,
      limit: 150,
      unit: 'ug/m3',
      since: t0 + 15 * MIN,
    });
    expect(first.event.message.vi).toContain('Bụi An Mỹ:'); // the name says the ward already: no "(An Mỹ)" again
    expect(first.event.message.vi).toContain('180');
    expect(first.event.message.en).toContain('limit 150');
    // within repeat interval: nothing; after: a repeat with the new value
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 26 * MIN, { pm25: 190 })], t0);
    expect(events).toHaveLength(1);
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 31 * MIN, { pm25: 200 })], t0);
    expect(events).toHaveLength(2);
    expect(events[1]!.event).toMatchObject({ state: 'raised', value: 200, since: t0 + 15 * MIN });
    // inside the hysteresis band (120..150): stays active
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 32 * MIN, { pm25: 130 })], t0);
    expect(events).toHaveLength(2);
    await detector.onReadings([reading('pm-1', 'pm_sensor', t0 + 33 * MIN, { pm25: 110 })], t0);
    expect(events).toHaveLength(3);
    expect(events[2]!.event).toMatchObject({ state: 'cleared', value: 110 });
  });

  it('respects scope by ward and by tag', async () => {
    const { detector, events } = harness([
      { ...rule, id: 'ward-scoped', forS: 0, scope: { wards: ['an-phu'] } },
      { ...rule, id: 'tag-scoped', forS: 0, scope: { tags: ['school'] } },
    ]);
    await detector.onReadings([reading('pm-1', 'pm_sensor', NOON, { pm25: 200 }), reading('pm-2', 'pm_sensor', NOON, { pm25: 200 })], NOON);
    expect(events.map((e) => `${e.event.ruleId}/${e.event.sourceId}`).sort()).toEqual(['tag-scoped/pm-1', 'ward-scoped/pm-2']);
  });
});

describe('domain rules', () => {
  it('water level: stages 1→3 raise with rising severity, leave a stage only below level − margin, then clear', async () => {
    const { detector, events } = harness([
      {
        id: 'flood',
        type: 'water_level',
        category: 'water',
        severities: ['minor', 'major', 'critical'],
        clearMarginM: 0.2,
        repeatEveryS: 3600,
      },
    ]);
    const at = (i: number, level: number) =>
      detector.onReadings([reading('water-1', 'water_level', NOON + i * 1000, { level, distance: 6 - level })], NOON);
    await at(0, 1.5);
    await at(1, 2.1);
    await at(2, 3.2);
    await at(3, 4.05);
    await at(4, 3.9); // within margin of stage 3: no change
    await at(5, 3.7); // stage 2
    const raised = events.filter((e) => e.event.state === 'raised');
    expect(raised.map((e) => [e.event.severity, e.event.limit, e.event.value])).toEqual([
      ['minor', 2, 2.1],
      ['major', 3, 3.2],
      ['critical', 4, 4.05],
      ['major', 3, 3.7],
    ]);
    expect(raised[2]!.event.message.vi).toContain('BÁO ĐỘNG 3');
    expect(events[0]!.event.state).toBe('cleared'); // the first healthy observation after start reconciles
    await at(6, 1.9); // above 2 − 0.2: still stage 1
    expect(events.at(-1)!.event.state).toBe('raised');
    await at(7, 1.7);
    expect(events.at(-1)!.event).toMatchObject({ state: 'cleared', value: 1.7 });
  });

  it('noise: the QCVN 26 limit depends on the zone and the local time of day', async () => {
    const { detector, events } = harness([{ id: 'noise', type: 'noise_limit', category: 'noise', kind: 'noise_meter' }]);
    await detector.onReadings([reading('noise-1', 'noise_meter', NOON, { laeq: 52 })], NOON); // special zone, day limit 55
    await detector.onReadings([reading('noise-1', 'noise_meter', MIDNIGHT, { laeq: 52 })], MIDNIGHT); // night limit 45
    const raised = events.filter((e) => e.event.state === 'raised');
    expect(raised).toHaveLength(1);
    expect(raised[0]!.event).toMatchObject({ value: 52, limit: 45, ts: MIDNIGHT });
    expect(raised[0]!.event.message.vi).toContain('ban đêm');
  });

  it('noise: derived hourly LAeq is compared with the limit it carries', async () => {
    const { detector, events } = harness([{ id: 'noise-h', type: 'noise_limit', category: 'noise' }]);
    await detector.onReadings([reading('noise-1', 'noise_hourly', NOON, { laeq: 60, limit: 55 })], NOON);
    expect(events.at(-1)!.event).toMatchObject({ state: 'raised', value: 60, limit: 55, unit: 'dBA' });
  });

  it('derived hourly values (same hour ts, rewritten) are timed by arrival, so durations elapse within the hour', async () => {
    const { detector, events } = harness([{ id: 'noise-h', type: 'noise_limit', category: 'noise', forS: 600, repeatEveryS: 60 }]);
    const hour = NOON;
    for (const m of [0, 5, 9])
      await detector.onReadings([reading('noise-1', 'noise_hourly', hour, { laeq: 60, limit: 55 })], hour + m * MIN);
    expect(events.filter((e) => e.event.state === 'raised')).toHaveLength(0);
    await detector.onReadings([reading('noise-1', 'noise_hourly', hour, { laeq: 61, limit: 55 })], hour + 10 * MIN);
    await detector.onReadings([reading('noise-1', 'noise_hourly', hour, { laeq: 62, limit: 55 })], hour + 12 * MIN);
    const raised = events.filter((e) => e.event.state === 'raised');
    expect(raised.map((e) => [e.event.ts, e.event.value, e.event.since])).toEqual([
      [hour + 10 * MIN, 61, hour],
      [hour + 12 * MIN, 62, hour],
    ]);
  });

  it('VN_AQI level per station with severity by level', async () => {
    const { detector, events } = harness([
      {
        id: 'aqi',
        type: 'vn_aqi_level',
        category: 'air',
        minAqi: 151,
        severityByLevel: { bad: 'minor', very_bad: 'major', hazardous: 'critical' },
      },
    ]);
    await detector.onReadings([reading('air-1', 'vn_aqi', NOON, { aqi: 160, pm25: 160 })], NOON);
    await detector.onReadings([reading('air-1', 'vn_aqi', NOON + 1000, { aqi: 320 })], NOON);
    expect(events.map((e) => e.event.severity)).toEqual(['minor', 'critical']);
    expect(events[1]!.event.message.vi).toContain('Nguy hại');
  });

  it('lighting: failure bits, day-burner at noon, night outage at midnight, power far from rated × dim', async () => {
    expect(sunElevationDeg(NOON, city.lat, city.lon)).toBeGreaterThan(40);
    expect(sunElevationDeg(MIDNIGHT, city.lat, city.lon)).toBeLessThan(-40);
    const { detector, events } = harness([
      { id: 'lamp-fail', type: 'lamp_failure', category: 'lighting' },
      { id: 'day-burn', type: 'day_burner', category: 'lighting' },
      { id: 'night-out', type: 'night_outage', category: 'lighting' },
      { id: 'power', type: 'power_deviation', category: 'lighting', tolerance: 0.3, minExpectedW: 20 },
    ]);
    await detector.onReadings(
      [reading('light-1', 'street_light', NOON, { lamp1_level: 100, lamp1_status: 4, lamp2_level: 0, lamp2_status: 2, power: 100 })],
      NOON,
    );
    await detector.onReadings(
      [reading('light-1', 'street_light', MIDNIGHT, { lamp1_level: 50, lamp1_status: 4, lamp2_level: 0, lamp2_status: 0, power: 200 })],
      MIDNIGHT,
    );
    const raised = events.filter((e) => e.event.state === 'raised').map((e) => [e.event.ruleId, e.event.ts, e.event.value]);
    expect(raised).toEqual([
      ['lamp-fail', NOON, 1],
      ['day-burn', NOON, 1],
      ['night-out', MIDNIGHT, 1],
      ['power', MIDNIGHT, 200],
    ]);
    expect(events.find((e) => e.event.ruleId === 'lamp-fail' && e.event.state === 'raised')!.event.message.en).toContain('lamp(s) 2');
    expect(events.find((e) => e.event.ruleId === 'power' && e.event.state === 'raised')!.event.limit).toBe(50);
  });

  it('rate of change: a fast rise within the window raises', async () => {
    const { detector, events } = harness([
      {
        id: 'rise',
        type: 'rate_of_change',
        category: 'water',
        kind: 'water_level',
        field: 'level',
        delta: 0.5,
        windowS: 600,
        direction: 'up',
      },
    ]);
    await detector.onReadings([reading('water-1', 'water_level', NOON, { level: 1 })], NOON);
    await detector.onReadings([reading('water-1', 'water_level', NOON + 20 * MIN, { level: 1.4 })], NOON); // slow: old sample left the window
    await detector.onReadings([reading('water-1', 'water_level', NOON + 25 * MIN, { level: 1.95 })], NOON);
    expect(events.filter((e) => e.event.state === 'raised')).toHaveLength(1);
    // The change is compared with the change limit (never the level with a rate), said as a person would.
    expect(events.at(-1)!.event).toMatchObject({ value: 0.55, limit: 0.5 });
    expect(events.at(-1)!.event.message.vi).toBe('Mực nước An Phú: Mực nước tăng 0,55 m trong 10 phút, hiện 1,95 m');
    expect(events.at(-1)!.event.message.en).toBe('Mực nước An Phú: Water level rose 0.55 m in 10 min, now 1.95 m');
  });

  it('traffic congestion is a threshold on the derived index', async () => {
    const { detector, events } = harness([
      { id: 'cong', type: 'threshold', category: 'traffic', kind: 'congestion', field: 'index', op: '>=', value: 0.8, clearValue: 0.6 },
    ]);
    await detector.onReadings([reading('pm-1', 'congestion', NOON, { index: 0.85 })], NOON);
    expect(events.at(-1)!.event).toMatchObject({ state: 'raised', kind: 'pm_sensor', value: 0.85 });
  });
});

describe('silence and gateway health', () => {
  it('no data: a device silent for factor × poll interval raises; data again clears', async () => {
    const { detector, events } = harness([
      { id: 'silent', type: 'no_data', category: 'equipment', target: 'device', factor: 5, minSilenceS: 0, scope: { devices: ['pm-1'] } },
    ]);
    await detector.onReadings([reading('pm-1', 'pm_sensor', NOON, { pm25: 10 })], NOON);
    await detector.tick!(NOON + 4000);
    expect(events.map((e) => e.event.state)).toEqual(['cleared']); // reconciling clear, device is fine
    detector.onGatewayHealth!(
      {
        gateway: 'gw-1',
        ts: NOON + 5500,
        uptimeS: 1,
        version: '1',
        configHash: 'x',
        cpuPct: 1,
        rssBytes: 1,
        diskFreeBytes: null,
        diskTotalBytes: null,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0, notDurable: 0 },
        devices: [],
      },
      NOON + 5500,
    );
    await detector.tick!(NOON + 6000);
    // A silence is not a measurement: no value/limit to compare; the text says since when and how long.
    expect(events.at(-1)!.event).toMatchObject({ state: 'raised', sourceId: 'pm-1', value: null, limit: null });
    expect(events.at(-1)!.event.message.vi).toBe('Bụi An Mỹ: mất kết nối từ 12:00');
    await detector.onReadings([reading('pm-1', 'pm_sensor', NOON + 7000, { pm25: 10 })], NOON + 7000);
    await detector.tick!(NOON + 7500);
    expect(events.at(-1)!.event.state).toBe('cleared');
  });

  it('follows a new device registry: an added device is watched for silence with its own name and ward', async () => {
    const { detector, events } = harness([
      { id: 'silent', type: 'no_data', category: 'equipment', target: 'device', factor: 5, minSilenceS: 0, scope: { devices: ['pm-3'] } },
    ]);
    await detector.tick!(NOON + 60_000);
    expect(events).toEqual([]); // pm-3 is not in the registry yet
    detector.onRegistry!({
      ...city,
      devices: [...city.devices, { ...city.devices[1]!, id: 'pm-3', name: 'Bụi mới', pollIntervalMs: 1000 }],
    });
    await detector.onReadings([reading('pm-3', 'pm_sensor', NOON + 60_000, { pm25: 10 })], NOON + 60_000);
    detector.onGatewayHealth!(
      {
        gateway: 'gw-2',
        ts: NOON + 70_000,
        uptimeS: 1,
        version: '1',
        configHash: 'x',
        cpuPct: 1,
        rssBytes: 1,
        diskFreeBytes: null,
        diskTotalBytes: null,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0, notDurable: 0 },
        devices: [],
      },
      NOON + 70_000,
    );
    await detector.tick!(NOON + 70_000);
    expect(events.at(-1)!.event).toMatchObject({ state: 'raised', sourceId: 'pm-3', ward: 'an-phu', gateway: 'gw-2' });
    expect(JSON.stringify(events.at(-1)!.event.message)).toContain('Bụi mới (An Phú)');
  });

  it('no data: when the whole gateway is silent only the gateway alarm is raised, not one per device', async () => {
    const { detector, events } = harness([
      {
        id: 'dev-silent',
        type: 'no_data',
        category: 'equipment',
        target: 'device',
        factor: 5,
        minSilenceS: 0,
        scope: { gateways: ['gw-2'] },
      },
      {
        id: 'gw-silent',
        type: 'no_data',
        category: 'equipment',
        target: 'gateway',
        factor: 5,
        minSilenceS: 0,
        scope: { gateways: ['gw-2'] },
      },
    ]);
    await detector.onReadings(
      [reading('pm-2', 'pm_sensor', NOON, { pm25: 10 }), reading('water-1', 'water_level', NOON, { level: 1 })],
      NOON,
    );
    await detector.tick!(NOON + 60_000);
    expect(events.filter((e) => e.event.state === 'raised').map((e) => `${e.event.ruleId}/${e.event.sourceId}`)).toEqual([
      'gw-silent/gw-2',
    ]);
    // the gateway is alive (health reports) but one device stays silent: now that device is the news
    detector.onGatewayHealth!(
      {
        gateway: 'gw-2',
        ts: NOON + 61_000,
        uptimeS: 1,
        version: '1',
        configHash: 'x',
        cpuPct: 1,
        rssBytes: 1,
        diskFreeBytes: null,
        diskTotalBytes: null,
        outbox: { depth: 0, oldestTs: null, bytes: 0, dropped: 0, notDurable: 0 },
        devices: [],
      },
      NOON + 61_000,
    );
    await detector.onReadings([reading('pm-2', 'pm_sensor', NOON + 61_000, { pm25: 10 })], NOON + 61_000);
    await detector.tick!(NOON + 62_000);
    expect(events.filter((e) => e.event.state === 'raised').map((e) => `${e.event.ruleId}/${e.event.sourceId}`)).toEqual([
      'gw-silent/gw-2',
      'dev-silent/water-1',
    ]);
    expect(events.some((e) => e.event.ruleId === 'gw-silent' && e.event.state === 'cleared' && e.event.ts === NOON + 62_000)).toBe(true);
  });

  it('no data: the text says since when, in city time, and for how long, in each language', async () => {
    const { detector, events } = harness([
      {
        id: 'gw-silent',
        type: 'no_data',
        category: 'equipment',
        target: 'gateway',
        factor: 5,
        minSilenceS: 300,
        scope: { gateways: ['gw-2'] },
      },
    ]);
    await detector.onReadings([reading('pm-2', 'pm_sensor', NOON, { pm25: 10 })], NOON);
    await detector.tick!(NOON + 7 * MIN);
    const raised = events.filter((e) => e.event.state === 'raised').at(-1)!.event;
    expect(raised).toMatchObject({ sourceId: 'gw-2', value: null, limit: null });
    expect(raised.message).toEqual({ vi: 'GW 2 (An Phú): mất kết nối từ 12:00 (7 phút)', en: 'GW 2 (An Phú): silent since 12:00 (7 min)' });
  });

  it('no data: a gateway whose last will says offline raises at once', async () => {
    const { detector, events } = harness([
      { id: 'gw-silent', type: 'no_data', category: 'equipment', target: 'gateway', minSilenceS: 600, scope: { gateways: ['gw-2'] } },
    ]);
    detector.onGatewayStatus!({ gateway: 'gw-2', state: 'offline', ts: NOON, reason: 'lwt' }, NOON);
    await new Promise((r) => setImmediate(r));
    expect(events.at(-1)!.event).toMatchObject({ state: 'raised', sourceId: 'gw-2', gateway: 'gw-2', ward: 'an-phu' });
    expect(events.at(-1)!.event.message.vi).toBe('GW 2 (An Phú): mất kết nối từ 12:00');
    detector.onGatewayStatus!({ gateway: 'gw-2', state: 'online', ts: NOON + 1000 }, NOON + 1000);
    await new Promise((r) => setImmediate(r));
    expect(events.at(-1)!.event.state).toBe('cleared');
  });

  const health = (ts: number, depth: number, crc: number): GatewayHealth => ({
    gateway: 'gw-1',
    ts,
    uptimeS: 10,
    version: '1',
    configHash: 'x',
    cpuPct: 1,
    rssBytes: 1,
    diskFreeBytes: null,
    diskTotalBytes: null,
    outbox: { depth, oldestTs: depth ? ts - 1000 : null, bytes: depth * 100, dropped: 0, notDurable: 0 },
    devices: [
      {
        device: 'pm-1',
        ok: 1,
        timeouts: 0,
        crcErrors: crc,
        exceptions: 0,
        lastOkTs: ts,
        lastError: null,
        lastErrorTs: null,
        backoffUntil: null,
        pollIntervalMs: 1000,
      },
    ],
  });

  it('gateway outbox growing over consecutive reports, and device CRC errors increasing', async () => {
    const { detector, events } = harness([
      { id: 'outbox', type: 'gateway_outbox', category: 'equipment', reports: 3, minDepth: 100 },
      { id: 'crc', type: 'device_crc_errors', category: 'equipment', minIncrease: 3 },
    ]);
    detector.onGatewayHealth!(health(NOON, 50, 0), NOON);
    detector.onGatewayHealth!(health(NOON + 1, 120, 1), NOON);
    detector.onGatewayHealth!(health(NOON + 2, 300, 10), NOON);
    await new Promise((r) => setImmediate(r));
    const raised = events.filter((e) => e.event.state === 'raised').map((e) => [e.event.ruleId, e.event.sourceId, e.event.value]);
    expect(raised.sort()).toEqual([
      ['crc', 'pm-1', 9],
      ['outbox', 'gw-1', 300],
    ]);
    const before = events.length;
    detector.onGatewayHealth!(health(NOON + 3, 0, 10), NOON);
    await new Promise((r) => setImmediate(r));
    expect(
      events
        .slice(before)
        .map((e) => `${e.event.ruleId}:${e.event.state}`)
        .sort(),
    ).toEqual(['crc:cleared', 'outbox:cleared']);
  });

  it('gateway disk filling up: a warning at 80 % used, major at 90 %, each clearing itself once space returns', async () => {
    const { detector, events } = harness([
      { id: 'disk-80', type: 'gateway_disk', category: 'equipment', severity: 'warning', usedPercent: 80 },
      { id: 'disk-90', type: 'gateway_disk', category: 'equipment', severity: 'major', usedPercent: 90 },
    ]);
    const GB = 1024 ** 3;
    const disk = (ts: number, usedPct: number): GatewayHealth => ({
      ...health(ts, 0, 0),
      diskTotalBytes: 8 * GB,
      diskFreeBytes: 8 * GB * (1 - usedPct / 100),
    });
    const raisedSoFar = () => events.filter((e) => e.event.state === 'raised').map((e) => `${e.event.ruleId}:${e.event.value}`);
    detector.onGatewayHealth!(disk(NOON, 50), NOON);
    detector.onGatewayHealth!(disk(NOON + 1, 85), NOON);
    await new Promise((r) => setImmediate(r));
    expect(raisedSoFar()).toEqual(['disk-80:85']);
    detector.onGatewayHealth!(disk(NOON + 2, 95), NOON);
    await new Promise((r) => setImmediate(r));
    expect(raisedSoFar()).toEqual(['disk-80:85', 'disk-90:95']);
    const major = events.find((e) => e.event.ruleId === 'disk-90' && e.event.state === 'raised')!.event;
    expect(major.severity).toBe('major');
    expect(major.message.en).toMatch(/: disk 95% used \(limit 90%\), 410 MB free$/);
    // Just under the line is not yet clear (the margin), well under is.
    const before = events.length;
    detector.onGatewayHealth!(disk(NOON + 3, 89), NOON);
    await new Promise((r) => setImmediate(r));
    expect(events.slice(before).map((e) => `${e.event.ruleId}:${e.event.state}`)).not.toContain('disk-90:cleared');
    detector.onGatewayHealth!(disk(NOON + 4, 40), NOON);
    await new Promise((r) => setImmediate(r));
    expect(
      events
        .slice(before)
        .filter((e) => e.event.state === 'cleared')
        .map((e) => e.event.ruleId)
        .sort(),
    ).toEqual(['disk-80', 'disk-90']);
  });

  it('gateway clock off from the receive time: warned once two reports agree, never for a backlog delivered at once, cleared when right', async () => {
    const { detector, events } = harness([
      { id: 'clock', type: 'gateway_clock', category: 'equipment', severity: 'warning', maxOffsetS: 60 },
    ]);
    const states = () => events.map((e) => `${e.event.state}:${e.event.value}`);
    const settle = () => new Promise((r) => setImmediate(r));
    // Reports as a running gateway sends them: uptime grows with each (a clock set back does not reset it).
    let uptimeS = 0;
    const report = (ts: number): GatewayHealth => ({ ...health(ts, 0, 0), uptimeS: (uptimeS += 30) });
    // After an outage, reports 30 s apart arrive within a second: each looks old, none agrees with the last.
    for (let i = 0; i < 5; i++) detector.onGatewayHealth!(report(NOON - 300_000 + i * 30_000), NOON + i * 100);
    await settle();
    expect(states()).toEqual([]);
    // Then a clock two hours behind (a box without RTC before NTP): the first report alone does not raise.
    detector.onGatewayHealth!(report(NOON + 60_000 - 7_200_000), NOON + 60_000);
    await settle();
    expect(states()).toEqual([]);
    detector.onGatewayHealth!(report(NOON + 90_000 - 7_200_000 + 800), NOON + 90_000);
    await settle();
    expect(states()).toEqual(['raised:-7199']);
    const raised = events[0]!.event;
    expect(raised.severity).toBe('warning');
    expect(raised.ts).toBe(NOON + 90_000); // the centre's time, not the gateway's
    expect(raised.message.en).toMatch(/: clock off by -7,199 s from the centre \(limit 60 s\)$/);
    // NTP stepped it: the next report is on time.
    detector.onGatewayHealth!(report(NOON + 120_000 + 300), NOON + 120_000);
    await settle();
    expect(states()).toEqual(['raised:-7199', 'cleared:0']);
  });
});

describe('robustness', () => {
  it('a failed publish is retried on tick, with the newest value', async () => {
    const fails = { value: true };
    const { detector, events } = harness(
      [{ id: 'pm', type: 'threshold', category: 'air', kind: 'pm_sensor', field: 'pm25', op: '>', value: 100, repeatEveryS: 1 }],
      fails,
    );
    await detector.onReadings([reading('pm-1', 'pm_sensor', NOON, { pm25: 150 })], NOON);
    expect(detector.stats()).toMatchObject({ publishFailures: 1, pendingPublishes: 1 });
    fails.value = false;
    await detector.tick!(NOON + 1000);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toMatchObject({ state: 'raised', value: 150 });
    expect(detector.stats().pendingPublishes).toBe(0);
  });

  it('setRules replaces the rules (reload from the retained config topic)', async () => {
    const { detector, events } = harness([]);
    await detector.onReadings([reading('pm-1', 'pm_sensor', NOON, { pm25: 150 })], NOON);
    expect(events).toHaveLength(0);
    detector.setRules([
      alarmRuleSchema.parse({ id: 'pm', type: 'threshold', category: 'air', kind: 'pm_sensor', field: 'pm25', op: '>', value: 100 }),
    ]);
    await detector.onReadings([reading('pm-1', 'pm_sensor', NOON + 1, { pm25: 150 })], NOON);
    expect(events).toHaveLength(1);
  });

  it('a bad reading (unknown device, odd values) does not stop evaluation', async () => {
    const { detector, events } = harness([
      { id: 'pm', type: 'threshold', category: 'air', kind: 'pm_sensor', field: 'pm25', op: '>', value: 100 },
    ]);
    await detector.onReadings([reading('ghost', 'pm_sensor', NOON, { pm10: 5 }), reading('pm-1', 'pm_sensor', NOON, { pm25: 150 })], NOON);
    expect(events.map((e) => e.event.sourceId)).toEqual(['pm-1']);
  });

  it('the shipped default rules load; a bad rule file names the file and field', () => {
    expect(loadRules(join(__dirname, '../../config/rules/default.yaml')).length).toBeGreaterThan(10);
    const dir = tempDir('rules');
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'rules:\n  - id: x\n    type: threshold\n    category: air\n    kind: pm_sensor\n    field: pm25\n    op: "=="\n    value: 1\n',
    );
    expect(() => loadRules(file)).toThrow(/bad\.yaml: rules\[0\]\.op/);
  });
});
