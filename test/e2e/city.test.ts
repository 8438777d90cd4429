import mqtt from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryBatchSchema, topics, type StoredReading } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { tempDir, waitFor } from '@tamky/test-support';
import { startCityDemo, type CityDemo } from '@tamky/demo';

/**
 * The walking skeleton end to end, on real sockets: simulated device (Modbus TCP) → edge gateway
 * (outbox, MQTT with its own credentials) → broker → ingest → SQLite → dashboard (history API and
 * WebSocket). A value pinned in a device register must arrive unchanged, with the timestamp the
 * gateway gave it when it read the device, everywhere.
 */
const DEVICE = 'an-my-noise-1';
const GATEWAY = 'gw-an-my';

let demo: CityDemo;
let cookie: string;

async function login(base: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status).toBe(200);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

beforeAll(async () => {
  demo = await startCityDemo({
    dataDir: tempDir('e2e-city'),
    mqttPort: 0,
    httpPort: 0,
    pollIntervalMs: 1000,
    logger: createLogger('e2e', { level: 'warn' }),
  });
  cookie = await login(demo.urls.dashboard, 'viewer', demo.credentials.users.viewer);
}, 120_000);

afterAll(async () => {
  await demo?.close();
});

describe('a simulated Tam Kỳ, end to end', () => {
  it('runs all 13 wards and at least 50 devices', () => {
    expect(demo.city.wards).toHaveLength(13);
    expect(demo.sim.devices.size).toBeGreaterThanOrEqual(50);
  });

  it('carries a register value unchanged, with its device timestamp, to the store, the history API and the WebSocket feed', async () => {
    // What the gateway publishes, seen by an independent MQTT client (the development profile lets loopback tools read).
    const observer = await mqtt.connectAsync(demo.urls.mqtt, { clientId: `e2e-observer-${process.pid}` });
    const published: Array<{ ts: number; seq: number; value: number }> = [];
    observer.on('message', (_topic, payload) => {
      const batch = telemetryBatchSchema.parse(JSON.parse(payload.toString()));
      for (const r of batch.readings)
        if (r.device === DEVICE && r.values.laeq) published.push({ ts: r.ts, seq: r.seq, value: r.values.laeq.v });
    });
    await observer.subscribeAsync(topics.telemetry(GATEWAY), { qos: 1 });

    const live: StoredReading[] = [];
    const ws = new WebSocket(`${demo.urls.dashboard.replace(/^http/, 'ws')}/ws`, { headers: { cookie } });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type === 'readings') live.push(...msg.readings.filter((r: StoredReading) => r.device === DEVICE));
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings'] }));

    // SM7901: holding register 0 = sound level × 10. 777 → 77.7 dB(A).
    demo.sim.devices.get(DEVICE)!.pin('holding', 0, 777);
    const sent = await waitFor(() => published.find((p) => p.value === 77.7), {
      what: 'the gateway to publish 77.7 dB',
      timeoutMs: 30_000,
    });

    const stored = await waitFor(async () => (await demo.store.latest({ devices: [DEVICE] })).find((r) => r.ts === sent.ts), {
      what: 'the reading in the store',
      timeoutMs: 30_000,
    });
    expect(stored).toMatchObject({ kind: 'noise_meter', device: DEVICE, gateway: GATEWAY, ward: 'an-my', ts: sent.ts, seq: sent.seq });
    expect(stored.values.laeq).toBe(77.7);

    const query = new URLSearchParams({
      kind: 'noise_meter',
      fields: 'laeq',
      devices: DEVICE,
      from: String(sent.ts),
      to: String(sent.ts + 1),
    });
    const history = await (await fetch(`${demo.urls.dashboard}/api/history?${query}`, { headers: { cookie } })).json();
    const series = history.series.find((s: { device: string; field: string }) => s.device === DEVICE && s.field === 'laeq');
    expect(series.points).toContainEqual([sent.ts, 77.7]);

    const onFeed = await waitFor(() => live.find((r) => r.ts === sent.ts), {
      what: 'the reading on the WebSocket feed',
      timeoutMs: 30_000,
    });
    expect(onFeed).toMatchObject({ device: DEVICE, ts: sent.ts, seq: sent.seq, values: { laeq: 77.7 } });

    ws.close();
    await observer.endAsync();
  });

  it('shows every gateway online to technicians', async () => {
    const res = await fetch(`${demo.urls.dashboard}/api/gateways`, { headers: { cookie } });
    const body = await res.json();
    await waitFor(
      async () => {
        const { gateways } = await (await fetch(`${demo.urls.dashboard}/api/gateways`, { headers: { cookie } })).json();
        return gateways.filter((g: { state: string }) => g.state === 'online').length === demo.city.gateways.length;
      },
      { what: 'all gateways online', timeoutMs: 30_000 },
    );
    expect(body.gateways).toHaveLength(demo.city.gateways.length);
  });

  it('shows LoRaWAN devices beside wired ones: uplinks through ChirpStack stored, a lamp dimmed by a confirmed downlink', async () => {
    const canal = 'tam-thanh-canal-lora-1';
    const reading = await waitFor(async () => (await demo.store.latest({ devices: [canal], kind: 'water_level' }))[0], {
      what: 'a LoRaWAN canal reading',
      timeoutMs: 30_000,
    });
    expect(reading).toMatchObject({ kind: 'water_level', gateway: 'lns-tam-ky', ward: 'tam-thanh' });
    const login = await fetch(`${demo.urls.dashboard}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'technician', password: demo.credentials.users.technician }),
    });
    const tech = login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const sent = await fetch(`${demo.urls.dashboard}/api/gateways/lns-tam-ky/commands`, {
      method: 'POST',
      headers: { cookie: tech, 'content-type': 'application/json', 'x-csrf-token': csrfToken },
      body: JSON.stringify({ type: 'write_register', device: 'tam-thanh-lamp-lora-1', field: 'lamp1_level', value: 30 }),
    });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const result = await waitFor(
      async () =>
        (
          (await (await fetch(`${demo.urls.dashboard}/api/commands/${id}`, { headers: { cookie: tech } })).json()) as {
            result: { ok: boolean } | null;
          }
        ).result,
      { what: 'the lamp command result', timeoutMs: 30_000 },
    );
    expect(result).toMatchObject({ ok: true });
    // The lamp reports the new level in its next uplink.
    await waitFor(
      async () => (await demo.store.latest({ devices: ['tam-thanh-lamp-lora-1'], kind: 'street_light' }))[0]?.values.lamp1_level === 30,
      { what: 'the dimmed level reported', timeoutMs: 30_000 },
    );
  });
});
