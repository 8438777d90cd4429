import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TimeSeriesStore } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { createLogger } from '@tamky/service-kit';
import { startMosquittoDynsec, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { provisionDynsec } from '@tamky/broker/mosquitto';
import { startIngest, type IngestHandle } from '@tamky/ingest';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway, type Gateway } from '@tamky/edge';
import { hashPassword, startDashboard, type DashboardHandle } from '../src/index';
import { api, loadCity, login, PASSWORDS, wsClient } from './helpers';

const REPO = join(import.meta.dirname, '..', '..', '..');
const GATEWAY = 'gw-an-my';
const DEVICE = 'an-my-noise-1';
const SECRETS = { gateway: 'gw-an-my-mosq-secret', ingest: 'ingest-mosq-secret', dashboard: 'dashboard-mosq-secret' };

/**
 * The whole system with Mosquitto 2 as the broker (docs/growth-mqtt.md), each service with its own credentials
 * and the rights provisioned into Mosquitto's dynamic security plugin: simulated device (Modbus TCP) → edge
 * gateway → Mosquitto → ingest → SQLite → the dashboard server. The dashboard's own MQTT use must work under
 * those rights: its live feed (readings ingest publishes after storing them, on the WebSocket), gateway status,
 * and commands (published to the gateway, answered on its result topic). Mosquitto refuses a subscription it
 * does not allow without closing the connection, so each must be seen working, not just connecting.
 */
describe('dashboard on Mosquitto with dynamic security', () => {
  let broker: Peer & { url: string; admin: { username: string; password: string } };
  let store: TimeSeriesStore;
  let ingest: IngestHandle;
  let dashboard: DashboardHandle;
  let slave: TcpSlave;
  let edge: Gateway;
  const city = loadCity();
  const log = createLogger('mosquitto-e2e', { level: process.env.TEST_LOG ?? 'silent' });

  beforeAll(async () => {
    broker = await startMosquittoDynsec();
    await provisionDynsec({
      admin: { url: broker.url, ...broker.admin },
      gateways: [{ id: GATEWAY, secret: SECRETS.gateway }],
      services: [
        { username: 'ingest', secret: SECRETS.ingest, role: 'ingest' },
        { username: 'dashboard', secret: SECRETS.dashboard, role: 'dashboard' },
      ],
    });
    const dir = tempDir('dashboard-mosq');
    store = await openStore({ type: 'sqlite', path: join(dir, 'readings.db') });
    ingest = await startIngest(
      {
        mqtt: { url: broker.url, username: 'ingest', password: SECRETS.ingest, clientId: 'ingest-mosq' },
        limitsDir: join(REPO, 'config/limits'),
        batch: { maxReadings: 100, maxDelayMs: 20 },
      },
      { store, city, logger: log },
    );
    dashboard = await startDashboard(
      {
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { url: broker.url, username: 'dashboard', password: SECRETS.dashboard, clientId: 'dashboard-mosq' },
        stateDb: join(dir, 'state.db'),
        users: [
          { username: 'technician', displayName: 'Kỹ thuật', role: 'technician', passwordHash: await hashPassword(PASSWORDS.technician) },
        ],
        limitsDir: join(REPO, 'config/limits'),
      },
      { store, city, logger: log },
    );

    const device = city.devices.find((d) => d.id === DEVICE)!;
    slave = await startModbusTcpSlave([createSimDevice(device, { city: { lat: city.lat, lon: city.lon, timeZone: city.timeZone } })], {
      log,
    });
    edge = await startGateway(
      gatewayConfigSchema.parse({
        gatewayId: GATEWAY,
        mqtt: { url: broker.url, username: GATEWAY, password: SECRETS.gateway, reconnect: { baseMs: 100, maxMs: 1000 } },
        outbox: { path: join(dir, 'gw.db') },
        buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port, timeoutMs: 1000 }],
        devices: [{ id: DEVICE, profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 300 }],
      }),
      { logger: log },
    );
  });

  afterAll(async () => {
    await edge?.close();
    await slave?.close();
    await ingest?.close();
    await dashboard?.close();
    await store?.close();
    await broker?.stop();
  });

  it('shows live readings and gateway status, and sends a command the gateway answers', async () => {
    const tech = await login(dashboard.url, 'technician');
    const feed = await wsClient(dashboard.url, { cookie: tech.cookie });
    feed.ws.send(JSON.stringify({ type: 'subscribe', channels: ['readings'] }));

    // Live feed: ingest stores a reading, then publishes it under city/v1/live/; the dashboard relays it.
    const frame = await feed.next(
      (f) => f.type === 'readings' && (f.readings as Array<{ device: string }>).some((r) => r.device === DEVICE),
      'a reading of the gateway on the live feed',
    );
    const onFeed = (frame.readings as Array<{ device: string; ts: number; values: Record<string, number> }>).find(
      (r) => r.device === DEVICE,
    )!;
    expect(onFeed.values.laeq).toEqual(expect.any(Number));
    // That very reading is stored (the device is polled every 300 ms: the newest stored one may already be a later one).
    const [series] = await store.query({ kind: 'noise_meter', fields: ['laeq'], from: onFeed.ts, to: onFeed.ts + 1, devices: [DEVICE] });
    expect(series?.points.find(([ts]) => ts === onFeed.ts)?.[1]).toBe(onFeed.values.laeq);

    // Gateway status (retained on the gateway's status topic, subscribed with a wildcard).
    await waitFor(
      async () => {
        const { gateways } = (await (await api(dashboard.url, tech, 'GET', '/api/gateways')).json()) as {
          gateways: Array<{ id: string; state: string }>;
        };
        return gateways.find((g) => g.id === GATEWAY)?.state === 'online';
      },
      { what: `${GATEWAY} online on the dashboard`, timeoutMs: 20_000 },
    );

    // A command: the dashboard publishes on the gateway's cmd topic, the gateway reads the device and answers on cmd-result.
    const sent = await api(dashboard.url, tech, 'POST', `/api/gateways/${GATEWAY}/commands`, { type: 'read_now', device: DEVICE });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const result = await waitFor(
      async () =>
        ((await (await api(dashboard.url, tech, 'GET', `/api/commands/${id}`)).json()) as { result: { ok: boolean } | null }).result,
      { what: 'the command result', timeoutMs: 20_000 },
    );
    expect(result).toMatchObject({ ok: true });
    feed.ws.close();
  });
});
