import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { topics, type TimeSeriesStore } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { createLogger, loadLimits } from '@tamky/service-kit';
import { startMosquitto, tempDir, waitFor } from '@tamky/test-support';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { createSimDevice, startModbusTcpSlave, type SimDevice, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway, type Gateway } from '@tamky/edge';
import { startAlarmDetection } from '@tamky/ingest/alarms';
import { hashPassword, startDashboard, type DashboardConfig, type DashboardHandle } from '../src/index';
import { createAlarmsModule, type AlarmsModule } from '../src/alarms';
import { parseNotifyPolicy } from '../src/notify';
import { api, loadCity, login, mqttClient, PASSWORDS, wsClient } from './helpers';
import { startFakeEsms, type FakeEsms } from './fakes/esms';
import { startFakeZalo, type FakeZalo } from './fakes/zalo';

const REPO = join(import.meta.dirname, '..', '..', '..');
const TECH = '84905111222';
const SUPERVISOR = '84905999888';

/**
 * Flood → water alarm → the on-call technician's Zalo → nobody acknowledges → escalation reaches the
 * supervisor by SMS → an operator acknowledges through the API → no further messages. Everything real
 * except the providers: the simulated An Phú ultrasonic sensor (firmware-sim, Modbus TCP) polled by the
 * edge gateway, mosquitto, the SQLite store, ingest with the detector as its observer (rules arriving
 * retained from the dashboard), the dashboard with the alarms module.
 */
describe('alarm end to end', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>;
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let detection: Awaited<ReturnType<typeof startAlarmDetection>>;
  let dashboard: DashboardHandle;
  let alarms: AlarmsModule;
  let zalo: FakeZalo;
  let esms: FakeEsms;
  let gateway: MqttClient;
  let sensor: SimDevice;
  let slave: TcpSlave;
  let edge: Gateway;
  let dashboardConfig: DashboardConfig;
  let restartDashboard: () => Promise<void>;
  let seq = 0;
  const report = async (gw: string, device: string, level: number) => {
    const reading = { device, ts: Date.now(), seq: seq++, values: { level: { v: level, u: 'm' }, distance: { v: 6 - level, u: 'm' } } };
    await gateway.publishAsync(topics.telemetry(gw), JSON.stringify({ v: 1, gateway: gw, readings: [reading] }), { qos: 1 });
  };
  const city = loadCity();
  const log = createLogger('e2e', { level: process.env.TEST_LOG ?? 'silent' });

  beforeAll(async () => {
    broker = await startMosquitto();
    zalo = await startFakeZalo();
    esms = await startFakeEsms();
    const dir = tempDir('alarms-e2e');
    store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') });
    const policy = parseNotifyPolicy({
      senderName: 'Tam Ky IOC',
      recipients: [
        { id: 'tech-an-phu', name: 'Kỹ thuật An Phú', phone: '0905111222', channels: ['zalo', 'sms'] },
        { id: 'supervisor', name: 'Trưởng ca', phone: '0905999888', channels: ['sms'] },
        { id: 'director', name: 'Giám đốc', phone: '0905777666', channels: ['sms'] },
      ],
      groups: [{ id: 'water-oncall', members: ['tech-an-phu'] }],
      routes: [
        {
          id: 'flood',
          match: { categories: ['water'], wards: ['an-phu'], rules: ['flood-level'] },
          // minutes as fractions so the test runs on the real clock: 3 s, then 9 s
          steps: [
            { to: ['group:water-oncall'] },
            { afterMin: 0.05, to: ['supervisor'], channels: ['sms'] },
            { afterMin: 0.15, to: ['director'] },
          ],
        },
      ],
      grouping: { windowS: 0 },
      providers: {
        zalo: {
          sendUrl: `${zalo.url}/message/template`,
          tokenUrl: `${zalo.url}/v4/oa/access_token`,
          appId: zalo.appId,
          secretKey: zalo.secretKey,
          refreshToken: 'refresh-0',
          templateId: 'tpl-alarm',
        },
        esms: { url: esms.url, apiKey: esms.apiKey, secretKey: esms.secretKey, brandname: esms.brandname },
      },
    });
    dashboardConfig = {
      http: { host: '127.0.0.1', port: 0, publicUrl: 'https://ioc.tamky.gov.vn' },
      mqtt: { url: broker.url, clientId: 'dashboard-e2e' },
      stateDb: join(dir, 'state.db'),
      users: [{ username: 'operator', displayName: 'Trực ban', role: 'operator', passwordHash: await hashPassword(PASSWORDS.operator) }],
      limitsDir: join(REPO, 'config/limits'),
    };
    restartDashboard = async () => {
      alarms = createAlarmsModule({ rulesFile: join(REPO, 'config/rules/default.yaml'), notify: policy, tickMs: 200 });
      dashboard = await startDashboard(dashboardConfig, { store, city, logger: log, modules: [alarms] });
    };
    await restartDashboard();

    let ingestHandle: IngestHandle | undefined;
    // No rules file: the rules must come from the dashboard (seeded from config/rules/default.yaml, published retained).
    detection = await startAlarmDetection({
      mqtt: { url: broker.url },
      city,
      aqiLevels: loadLimits(join(REPO, 'config/limits')).vnAqi.levels,
      logger: log,
      publish: async (topic, event) => {
        if (!ingestHandle) throw new Error('ingest not started yet');
        await ingestHandle.publish(topic, event, { qos: 1 });
      },
    });
    await waitFor(() => detection.rulesVersion() >= 1, { what: 'rules from config/rules' });
    ingest = ingestHandle = await startIngest(
      {
        mqtt: { url: broker.url, clientId: 'ingest-e2e' },
        limitsDir: join(REPO, 'config/limits'),
        batch: { maxReadings: 100, maxDelayMs: 20 },
      },
      { store, city, logger: log, observers: [detection.detector] },
    );
    gateway = await mqttClient(broker.url);

    // The An Phú station: a simulated URM14 on Modbus TCP, polled by the An Phú edge gateway.
    const device = city.devices.find((d) => d.id === 'an-phu-water-1')!;
    sensor = createSimDevice(device, { city: { lat: city.lat, lon: city.lon, timeZone: city.timeZone } });
    slave = await startModbusTcpSlave([sensor], { log });
    edge = await startGateway(
      gatewayConfigSchema.parse({
        gatewayId: 'gw-an-phu',
        mqtt: { url: broker.url, reconnect: { baseMs: 100, maxMs: 1000 } },
        outbox: { path: join(dir, 'gw-an-phu.db') },
        buses: [{ id: 'tcp-water', type: 'tcp', host: '127.0.0.1', port: slave.port, timeoutMs: 1000 }],
        devices: [
          {
            id: 'an-phu-water-1',
            profile: 'water_level',
            bus: 'tcp-water',
            unitId: 12,
            pollIntervalMs: 300,
            fields: ['distance', 'level'],
            overrides: { level: { offset: device.mountingHeightM } },
          },
        ],
      }),
      { logger: log },
    );
  });

  afterAll(async () => {
    await edge?.close();
    await slave?.close();
    await gateway?.endAsync();
    await detection?.close();
    await ingest?.close();
    await dashboard?.close();
    await store?.close();
    await zalo?.close();
    await esms?.close();
    await broker?.stop();
  });

  it('a flood reaches the technician by Zalo, escalates to the supervisor by SMS, and an API acknowledgement stops the rest', async () => {
    const operator = await login(dashboard.url, 'operator');
    const ws = await wsClient(dashboard.url, { cookie: operator.cookie });
    ws.ws.send(JSON.stringify({ type: 'subscribe', channels: ['alarms'] }));

    // Normal water first (no alarm), then the canal floods to 3.5 m (past báo động 2) within seconds.
    await waitFor(async () => (await store.latest({ kind: 'water_level' })).some((r) => r.device === 'an-phu-water-1'), {
      what: 'first water reading stored',
      timeoutMs: 20_000,
    });
    expect(zalo.messages).toHaveLength(0);
    sensor.injectFault({ type: 'flood', riseMinutes: 0.05, peakM: 3.5 });

    await waitFor(() => zalo.messages.length >= 1, { what: 'Zalo message to the on-call technician', timeoutMs: 20_000 });
    expect(zalo.messages[0]!.phone).toBe(TECH);
    expect(zalo.messages[0]!.templateData.message).toContain('An Phú');
    expect(zalo.messages[0]!.templateData.message).toMatch(/BÁO ĐỘNG [12]/);
    const alarmId = Number(zalo.messages[0]!.templateData.alarm_id);
    expect(zalo.messages[0]!.templateData.link).toBe(`https://ioc.tamky.gov.vn/alarms/${alarmId}`);
    await ws.next((f) => f.type === 'alarm' && (f.alarm as { id: string }).id === String(alarmId), 'alarm on the live feed');

    // nobody acknowledges: the supervisor gets an SMS
    await waitFor(() => esms.messages.some((m) => m.phone === SUPERVISOR), { what: 'escalation SMS to the supervisor', timeoutMs: 20_000 });
    const sms = esms.messages.find((m) => m.phone === SUPERVISOR)!;
    expect(sms.content).toContain(`#${alarmId}`);
    expect(sms.content).toMatch(/BAO DONG [12]/);

    const ack = await api(dashboard.url, operator, 'POST', `/api/alarms/${alarmId}/ack`, { comment: 'đội ứng cứu đã xuất phát' });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { alarm: { state: string } }).alarm.state).toBe('acknowledged');

    // The director's step (9 s after opening) must never come, while the gateway keeps reporting the flood.
    const openedAt = alarms.store.get(alarmId)!.openedAt;
    await new Promise((r) => setTimeout(r, Math.max(0, openedAt + 9_000 - Date.now()) + 1500));
    await alarms.tick();
    expect(esms.messages.map((m) => m.phone)).toEqual([SUPERVISOR]);
    expect(zalo.messages).toHaveLength(1);

    const detail = (await (await api(dashboard.url, operator, 'GET', `/api/alarms/${alarmId}`)).json()) as {
      alarm: Record<string, unknown>;
      audit: Array<{ action: string; user: string }>;
      notifications: Array<{ recipient: string; channel: string; state: string }>;
    };
    expect(detail.alarm).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'operator',
      ruleId: 'flood-level',
      sourceId: 'an-phu-water-1',
      ward: 'an-phu',
      severity: 'critical',
    });
    const trail = detail.audit.map((a) => `${a.user}:${a.action}`);
    expect(trail[0]).toBe('system:raised');
    expect(trail).toContain('operator:acknowledged');
    // the rest: báo động 1 → 2 raised the severity as the water rose
    expect(trail.filter((t) => t !== 'system:raised' && t !== 'operator:acknowledged').every((t) => t === 'system:severity')).toBe(true);
    expect(detail.notifications.map((n) => [n.recipient, n.channel, n.state])).toEqual([
      ['tech-an-phu', 'zalo', 'accepted'],
      ['supervisor', 'sms', 'accepted'],
    ]);
    ws.ws.close();
  });

  it('an alarm raised while the dashboard is down is picked up when it comes back (persistent session, QoS 1)', async () => {
    const monitor = await mqttClient(broker.url);
    const seen: string[] = [];
    monitor.on('message', (topic) => seen.push(topic));
    await monitor.subscribeAsync(topics.alarmEvent('flood-level', 'an-xuan-water-1'), { qos: 1 });
    await dashboard.close();
    await report('gw-an-xuan', 'an-xuan-water-1', 4.2); // báo động 3 at An Xuân
    // the event is on the broker (and queued in the dashboard's persistent session) before the dashboard returns
    await waitFor(() => seen.length > 0, { what: 'alarm event published while the dashboard is down', timeoutMs: 20_000 });
    await monitor.endAsync();
    await restartDashboard();
    const operator = await login(dashboard.url, 'operator');
    const found = await waitFor(
      async () => {
        const res = (await (await api(dashboard.url, operator, 'GET', '/api/alarms?ward=an-xuan')).json()) as {
          alarms: Array<Record<string, unknown>>;
        };
        return res.alarms.find((a) => a.ruleId === 'flood-level');
      },
      { what: 'the An Xuân flood alarm after restart', timeoutMs: 20_000 },
    );
    expect(found).toMatchObject({ state: 'active', sourceId: 'an-xuan-water-1', severity: 'critical', value: 4.2, limit: 4 });
    // the acknowledged An Phú alarm kept its state through the restart
    const anPhu = (await (await api(dashboard.url, operator, 'GET', '/api/alarms?ward=an-phu')).json()) as {
      alarms: Array<Record<string, unknown>>;
    };
    expect(anPhu.alarms.find((a) => a.ruleId === 'flood-level')).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'operator' });
  });
});
