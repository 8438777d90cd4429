import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cityModelSchema,
  commandResultSchema,
  gatewayEventSchema,
  gatewayHealthSchema,
  parseConfig,
  topics,
  type CityModel,
  type CommandResult,
  type GatewayEvent,
  type GatewayHealth,
} from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { DEFAULT_CODECS_DIR, startConnector, type Connector } from '../src/index';
import { ackEvent, joinEvent, parseDownlinkCommand, statusEvent, txAckEvent, uplinkEvent } from './chirpstack-api';

/**
 * The connector between two real brokers: mosquitto playing ChirpStack's MQTT integration broker, our own
 * broker (aedes) on the city side, ingest and a real SQLite store behind it. ChirpStack's events are built
 * with its published API definitions (./chirpstack-api.ts).
 */
const GW = 'lns-test';
const APP = '6d5db27e-4ce2-4b2b-b5d7-91f069397978';
const EUI = {
  water: 'a84041000181c101',
  object: 'a84041000181c102',
  lamp: '70b3d50000000a01',
  loop: 'a84041000181c103',
  bad: 'a84041000181c104',
  rejoin: 'a84041000181c105',
};
const log = createLogger('lorawan-test', { level: 'warn' });
const dir = tempDir('lorawan');

const device = (id: string, kind: string, devEui: string, profile: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind,
  name: id,
  ward: 'an-my',
  gateway: GW,
  lat: 15.57,
  lon: 108.48,
  pollIntervalMs: 600_000,
  lorawan: { devEui, profile },
  ...extra,
});
const city: CityModel = parseConfig(
  cityModelSchema,
  {
    id: 'test-city',
    name: 'Test',
    lat: 15.57,
    lon: 108.47,
    wards: [{ id: 'an-my', name: 'An Mỹ', type: 'phuong', lat: 15.57, lon: 108.48, map: { x: 50, y: 50 } }],
    gateways: [{ id: GW, ward: 'an-my', name: 'ChirpStack' }],
    devices: [
      device('canal-1', 'water_level', EUI.water, 'dragino-ldds75', { mountingHeightM: 5 }),
      device('canal-2', 'water_level', EUI.object, 'water-level-object', { mountingHeightM: 4 }),
      device('canal-3', 'water_level', EUI.rejoin, 'dragino-ldds75', { mountingHeightM: 5 }),
      device('canal-loop', 'water_level', EUI.loop, 'loops'),
      device('canal-bad', 'water_level', EUI.bad, 'bad-output'),
      device('lamp-1', 'street_light', EUI.lamp, 'tamky-lamp', { lamps: 1, ratedPowerW: 100 }),
    ],
  },
  'connector.test.ts',
);

let chirpstackBroker: Peer & { url: string };
let broker: BrokerHandle;
let store: Awaited<ReturnType<typeof openStore>>;
let ingest: IngestHandle;
let connector: Connector;
let ns: MqttClient; // plays ChirpStack's network server on its broker
let dashboard: MqttClient; // plays the dashboard on ours
const downlinks: Array<{ topic: string; payload: string }> = [];
const results: CommandResult[] = [];
const events: GatewayEvent[] = [];
const healths: GatewayHealth[] = [];

/** An LDDS75 payload (battery mV, distance mm, interrupt, temperature ×10, sensor flag). */
const ldds75 = (distanceMm: number) => new Uint8Array([0x0c, 0xe4, distanceMm >> 8, distanceMm & 0xff, 0x00, 0x00, 0xfa, 0x01]);
const up = (
  devEui: string,
  o: { id: string; time: number; fCnt: number; devAddr?: string; data?: Uint8Array; object?: Record<string, unknown>; gateways?: number },
) =>
  uplinkEvent({
    devEui,
    applicationId: APP,
    deduplicationId: o.id,
    time: new Date(o.time),
    devAddr: o.devAddr ?? '260b1234',
    fCnt: o.fCnt,
    fPort: 2,
    data: o.data ?? ldds75(1500),
    ...(o.object ? { object: o.object } : {}),
    gateways: Array.from({ length: o.gateways ?? 1 }, (_, i) => ({
      id: `0016c001f1${String(i).padStart(6, '0')}`,
      rssi: -110 + i * 7,
      snr: -3 + i * 2.5,
    })),
    spreadingFactor: 9,
  });
const publishNs = (devEui: string, type: string, payload: string) =>
  ns.publishAsync(`application/${APP}/device/${devEui}/event/${type}`, payload, { qos: 1 });
const stored = (device: string) =>
  store.query({ kind: 'water_level', fields: ['level', 'distance'], from: 0, to: Date.now() + 3600_000, devices: [device] });

beforeAll(async () => {
  chirpstackBroker = await startMosquitto();
  const hash = (s: string) => hashSecret(s, { N: 1024 });
  broker = await startBroker(
    {
      profile: 'development',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [{ id: GW, secretHash: await hash('lns-secret') }],
        services: [
          { username: 'ingest', role: 'ingest', secretHash: await hash('ingest-secret') },
          { username: 'dashboard', role: 'dashboard', secretHash: await hash('dashboard-secret') },
        ],
      },
    },
    { logger: log },
  );
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') }, { logger: log });
  ingest = await startIngest(
    {
      mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-lorawan' },
      limitsDir: join(import.meta.dirname, '../../config/limits'),
    },
    { store, city, logger: log },
  );

  // The shipped codecs plus two broken ones, and the shipped profiles plus profiles using those.
  const codecs = join(dir, 'codecs');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(codecs);
  for (const f of readdirSync(DEFAULT_CODECS_DIR)) copyFileSync(join(DEFAULT_CODECS_DIR, f), join(codecs, f));
  for (const f of ['loop-forever.js', 'bad-output.js']) copyFileSync(join(import.meta.dirname, 'codecs', f), join(codecs, f));
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const shipped = parse(readFileSync(join(import.meta.dirname, '../../config/lorawan/profiles.yaml'), 'utf8')) as {
    profiles: Record<string, { downlink?: { ackTimeoutMs?: number } }>;
  };
  shipped.profiles['tamky-lamp']!.downlink!.ackTimeoutMs = 1500;
  const water = { kind: 'water_level', fields: { distance: { from: 'distance_mm', scale: 0.001 } } };
  writeFileSync(
    join(dir, 'profiles.yaml'),
    stringify({
      profiles: { ...shipped.profiles, loops: { ...water, codec: 'loop-forever' }, 'bad-output': { ...water, codec: 'bad-output' } },
    }),
  );

  connector = await startConnector(
    {
      gatewayId: GW,
      mqtt: { url, username: GW, password: 'lns-secret', reconnect: { baseMs: 100, maxMs: 1000 } },
      chirpstack: { url: chirpstackBroker.url, clientId: 'tamky-lorawan-test' },
      registry: {},
      profilesFile: join(dir, 'profiles.yaml'),
      codecsDir: codecs,
      codecTimeoutMs: 100,
      outbox: { path: join(dir, 'outbox', `${GW}.db`), synchronous: 'normal' },
      health: { intervalMs: 1000 },
    },
    { city, logger: log },
  );

  ns = await mqtt.connectAsync(chirpstackBroker.url, { clientId: 'chirpstack-ns' });
  await ns.subscribeAsync('application/+/device/+/command/down', { qos: 1 });
  ns.on('message', (topic, payload) => downlinks.push({ topic, payload: payload.toString() }));

  dashboard = await mqtt.connectAsync(url, { clientId: 'dashboard-test', username: 'dashboard', password: 'dashboard-secret' });
  await dashboard.subscribeAsync([topics.commandResult(GW), topics.event(GW), topics.health(GW)], { qos: 1 });
  dashboard.on('message', (topic, payload) => {
    const json = JSON.parse(payload.toString()) as unknown;
    if (topic === topics.commandResult(GW)) results.push(commandResultSchema.parse(json));
    else if (topic === topics.event(GW)) events.push(gatewayEventSchema.parse(json));
    else healths.push(gatewayHealthSchema.parse(json));
  });
  // The connector subscribes to ChirpStack's events when it connects; wait for that before publishing.
  expect(connector.health().devices).toHaveLength(6);
  await waitFor(() => connector.subscribed(), { what: 'the connector to subscribe to ChirpStack events' });
});

afterAll(async () => {
  await ns?.endAsync();
  await dashboard?.endAsync();
  await connector?.close();
  await ingest?.close();
  await store?.close();
  await broker?.close();
  await chirpstackBroker?.stop();
});

describe('uplinks into readings', () => {
  it('stores an uplink decoded by a shipped codec once, with the level from the mounting height', async () => {
    const t = Date.now() - 60_000;
    await publishNs(EUI.water, 'up', up(EUI.water, { id: '11111111-0000-4000-8000-000000000001', time: t, fCnt: 7 }));
    const series = await waitFor(async () => {
      const s = await stored('canal-1');
      return s.length === 2 ? s : undefined;
    });
    const level = series.find((s) => s.field === 'level')!;
    expect(level.points).toEqual([[t, 3.5]]);
    expect(series.find((s) => s.field === 'distance')!.points).toEqual([[t, 1.5]]);
    expect(await store.sequences(GW)).toHaveLength(1);
  });

  it('stores ChirpStack’s decoded object the same way', async () => {
    const t = Date.now() - 50_000;
    await publishNs(
      EUI.object,
      'up',
      up(EUI.object, {
        id: '11111111-0000-4000-8000-000000000002',
        time: t,
        fCnt: 3,
        data: new Uint8Array([9]),
        object: { distance_mm: 1000 },
      }),
    );
    const series = await waitFor(async () => ((await stored('canal-2')).length === 2 ? stored('canal-2') : undefined));
    expect(series.find((s) => s.field === 'level')!.points).toEqual([[t, 3]]);
  });

  it('stores the same uplink heard by three LoRa gateways once, whether ChirpStack de-duplicated it, sent late copies, or redelivered it', async () => {
    const before = (await store.sequences(GW)).length;
    const t = Date.now() - 40_000;
    const event = up(EUI.water, { id: '22222222-0000-4000-8000-000000000001', time: t, fCnt: 8, gateways: 3, data: ldds75(1600) });
    await publishNs(EUI.water, 'up', event);
    // Copies from gateways whose packets reached ChirpStack after its de-duplication window: new events, same frame.
    await publishNs(
      EUI.water,
      'up',
      up(EUI.water, { id: '22222222-0000-4000-8000-000000000002', time: t + 180, fCnt: 8, data: ldds75(1600) }),
    );
    await publishNs(
      EUI.water,
      'up',
      up(EUI.water, { id: '22222222-0000-4000-8000-000000000003', time: t + 450, fCnt: 8, data: ldds75(1600) }),
    );
    // ChirpStack's broker redelivering the first event.
    await publishNs(EUI.water, 'up', event);
    // A later uplink, so we know the copies before it were handled.
    await publishNs(
      EUI.water,
      'up',
      up(EUI.water, { id: '22222222-0000-4000-8000-000000000004', time: t + 30_000, fCnt: 9, data: ldds75(1700) }),
    );
    await waitFor(async () => (await store.sequences(GW)).length === before + 2, { what: 'the frame and the next one' });
    const level = (await stored('canal-1')).find((s) => s.field === 'level')!;
    expect(level.points.filter(([ts]) => ts >= t - 1000 && ts <= t + 1000)).toEqual([[t, 3.4]]);
    const h = await waitFor(() => healths.findLast((x) => x.devices.find((d) => d.device === 'canal-1')?.radio?.fCnt === 9));
    const canal = h.devices.find((d) => d.device === 'canal-1')!;
    expect(canal.radio).toMatchObject({ devEui: EUI.water, spreadingFactor: 9, gateways: 1, rssi: -110, snr: -3 });
  });

  it('reports the radio of an uplink heard by several gateways (best RSSI and SNR, how many heard it)', async () => {
    await publishNs(
      EUI.object,
      'up',
      up(EUI.object, {
        id: '33333333-0000-4000-8000-000000000001',
        time: Date.now() - 30_000,
        fCnt: 4,
        data: new Uint8Array([9]),
        object: { distance_mm: 900 },
        gateways: 3,
      }),
    );
    const canal = await waitFor(() => connector.health().devices.find((d) => d.device === 'canal-2' && d.radio?.fCnt === 4));
    await waitFor(async () => ((await stored('canal-2'))[0]?.points.length === 2 ? true : undefined), { what: 'the reading stored' });
    expect(canal.radio).toMatchObject({ gateways: 3, rssi: -96, snr: 2, spreadingFactor: 9 });
    expect(canal.pollIntervalMs).toBe(600_000);
  });

  it('loses and refuses nothing when a device rejoins and its frame counter restarts at 0', async () => {
    const t = Date.now() - 20_000;
    await publishNs(
      EUI.rejoin,
      'up',
      up(EUI.rejoin, { id: '44444444-0000-4000-8000-000000000001', time: t, fCnt: 0, devAddr: '260b0001', data: ldds75(1000) }),
    );
    await publishNs(
      EUI.rejoin,
      'up',
      up(EUI.rejoin, { id: '44444444-0000-4000-8000-000000000002', time: t + 1000, fCnt: 1, devAddr: '260b0001', data: ldds75(1100) }),
    );
    await publishNs(
      EUI.rejoin,
      'join',
      joinEvent({ devEui: EUI.rejoin, applicationId: APP, time: new Date(t + 2000), devAddr: '260b0002' }),
    );
    // Same counters again in the new session (the first with fCnt 0, which ChirpStack's JSON leaves out).
    await publishNs(
      EUI.rejoin,
      'up',
      up(EUI.rejoin, { id: '44444444-0000-4000-8000-000000000003', time: t + 3000, fCnt: 0, devAddr: '260b0002', data: ldds75(1200) }),
    );
    await publishNs(
      EUI.rejoin,
      'up',
      up(EUI.rejoin, { id: '44444444-0000-4000-8000-000000000004', time: t + 4000, fCnt: 1, devAddr: '260b0002', data: ldds75(1300) }),
    );
    expect(up(EUI.rejoin, { id: 'x', time: t, fCnt: 0 })).not.toContain('fCnt');
    const level = await waitFor(
      async () => {
        const s = (await stored('canal-3')).find((x) => x.field === 'level');
        return s?.points.length === 4 ? s : undefined;
      },
      { what: 'four readings across the rejoin' },
    );
    expect(level.points).toEqual([
      [t, 4],
      [t + 1000, 3.9],
      [t + 3000, 3.8],
      [t + 4000, 3.7],
    ]);
    const seqs = await store.sequences(GW);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(connector.health().devices.find((d) => d.device === 'canal-3')!.radio!.lastJoinTs).toBe(t + 2000);
    await waitFor(() => events.find((e) => e.type === 'lorawan_join' && e.device === 'canal-3'));
  });

  it('takes the battery from status events', async () => {
    await publishNs(
      EUI.water,
      'status',
      statusEvent({ devEui: EUI.water, applicationId: APP, time: new Date(), batteryLevel: 71.5, margin: 12 }),
    );
    await waitFor(() => connector.health().devices.find((d) => d.device === 'canal-1')!.radio!.batteryPct === 71.5);
  });
});

describe('codec failures', () => {
  it('dead-letters a codec that never returns and one that returns nonsense, with the raw payload, and keeps running', async () => {
    const before = (await store.sequences(GW)).length;
    await publishNs(
      EUI.loop,
      'up',
      up(EUI.loop, { id: '55555555-0000-4000-8000-000000000001', time: Date.now() - 10_000, fCnt: 1, data: new Uint8Array([0xde, 0xad]) }),
    );
    await publishNs(
      EUI.bad,
      'up',
      up(EUI.bad, { id: '55555555-0000-4000-8000-000000000002', time: Date.now() - 10_000, fCnt: 1, data: new Uint8Array([0xbe, 0xef]) }),
    );
    await publishNs(EUI.water, 'up', up(EUI.water, { id: '55555555-0000-4000-8000-000000000003', time: Date.now() - 9_000, fCnt: 20 }));
    const loop = await waitFor(() => events.find((e) => e.type === 'lorawan_dead_letter' && e.device === 'canal-loop'));
    expect(String(loop.detail!.reason)).toMatch(/timed out/);
    expect(loop.detail!.data).toBe(Buffer.from([0xde, 0xad]).toString('base64'));
    const bad = await waitFor(() => events.find((e) => e.type === 'lorawan_dead_letter' && e.device === 'canal-bad'));
    expect(String(bad.detail!.reason)).toMatch(/not a number/);
    expect(bad.detail!.data).toBe(Buffer.from([0xbe, 0xef]).toString('base64'));
    // The good uplink behind them is stored; only it got a sequence number.
    await waitFor(async () => (await store.sequences(GW)).length === before + 1, { what: 'the good uplink after the bad ones' });
    // The looping codec keeps being bounded: a second uplink for it is dead-lettered too.
    await publishNs(EUI.loop, 'up', up(EUI.loop, { id: '55555555-0000-4000-8000-000000000004', time: Date.now() - 8_000, fCnt: 2 }));
    await waitFor(() => events.filter((e) => e.type === 'lorawan_dead_letter' && e.device === 'canal-loop').length === 2);
    expect(connector.health().devices.find((d) => d.device === 'canal-loop')!.exceptions).toBe(2);
  });
});

describe('lamp commands as confirmed downlinks', () => {
  const command = async (id: string, value: number) => {
    await dashboard.publishAsync(
      topics.command(GW),
      JSON.stringify({ id, type: 'write_register', device: 'lamp-1', field: 'lamp1_level', value }),
      { qos: 1 },
    );
    const down = await waitFor(() => downlinks.find((d) => parseDownlinkCommand(d.payload).data[1] === value));
    return { topic: down.topic, cmd: parseDownlinkCommand(down.payload) };
  };

  it('sends a confirmed downlink on the device’s command/down topic and reports done on its ack', async () => {
    // ChirpStack's application of the lamp is learnt from its events.
    await publishNs(
      EUI.lamp,
      'status',
      statusEvent({ devEui: EUI.lamp, applicationId: APP, time: new Date(), batteryLevel: 0, margin: 5 }),
    );
    await waitFor(() => connector.health().devices.find((d) => d.device === 'lamp-1')!.radio!.batteryTs !== null, {
      what: 'the lamp status event',
    });
    const { topic, cmd } = await command('cmd-dim-40', 40);
    expect(topic).toBe(`application/${APP}/device/${EUI.lamp}/command/down`);
    expect(cmd).toMatchObject({ devEui: EUI.lamp, confirmed: true, fPort: 10 });
    expect([...cmd.data]).toEqual([0x01, 40]);
    await publishNs(
      EUI.lamp,
      'txack',
      txAckEvent({
        devEui: EUI.lamp,
        applicationId: APP,
        time: new Date(),
        queueItemId: cmd.id,
        gatewayId: '0016c001f1000000',
        fCntDown: 5,
      }),
    );
    expect(results.find((r) => r.id === 'cmd-dim-40')).toBeUndefined();
    await publishNs(
      EUI.lamp,
      'ack',
      ackEvent({ devEui: EUI.lamp, applicationId: APP, time: new Date(), queueItemId: cmd.id, acknowledged: true, fCntDown: 5 }),
    );
    const result = await waitFor(() => results.find((r) => r.id === 'cmd-dim-40'));
    expect(result).toMatchObject({ gateway: GW, ok: true, data: { device: 'lamp-1', field: 'lamp1_level', value: 40 } });
  });

  it('reports failed when the device does not acknowledge in the profile’s time', async () => {
    const sent = Date.now();
    await command('cmd-dim-70', 70);
    const result = await waitFor(() => results.find((r) => r.id === 'cmd-dim-70'), { timeoutMs: 10_000 });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/no acknowledgement/);
    expect(result.ts - sent).toBeGreaterThanOrEqual(1500);
  });

  it('reports failed at once for a command LoRaWAN cannot carry', async () => {
    await dashboard.publishAsync(topics.command(GW), JSON.stringify({ id: 'cmd-read', type: 'read_now', device: 'lamp-1' }), { qos: 1 });
    const result = await waitFor(() => results.find((r) => r.id === 'cmd-read'));
    expect(result).toMatchObject({ ok: false });
    expect(result.error).toMatch(/own schedule/);
  });
});
