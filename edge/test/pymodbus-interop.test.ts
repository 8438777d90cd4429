import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayHealthSchema, gatewayStatusSchema, telemetryBatchSchema, topics } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { freePort, requireBinary, spawnPeer, startMosquitto, tempDir, waitFor, waitForPort, type Peer } from '@tamky/test-support';
import { gatewayConfigSchema, startGateway } from '../src/index';
import { collector } from './helpers/broker';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The gateway against peers it did not write: a pymodbus server loaded with the air_station map from
 * docs/register-maps.md, and Debian mosquitto. The values that come out must be the documented ones.
 */
describe('gateway ↔ pymodbus air station ↔ mosquitto', () => {
  let broker: Peer & { url: string };
  let pymodbus: Peer;
  let port: number;

  beforeAll(async () => {
    requireBinary('/usr/bin/python3', 'python3-pymodbus');
    broker = await startMosquitto();
    port = await freePort();
    // so2 12, no2 34, co 56 (×10 µg/m³), o3 78, pm25 25, pm10 40, temperature 6534 → 25.34 °C, humidity 7012 → 70.12 %
    const spec = { '255': { hr: { '3': [12, 34, 56, 78, 25, 40, 6534, 7012] } } };
    pymodbus = spawnPeer('/usr/bin/python3', [join(here, 'helpers/pymodbus_server.py'), String(port), JSON.stringify(spec)]);
    await waitForPort(port, `pymodbus server (${pymodbus.output()})`);
  });

  afterAll(async () => {
    await pymodbus?.stop();
    await broker?.stop();
  });

  it('publishes correctly scaled readings with seq, status online/offline and health', async () => {
    const sub = await collector(broker.url, 'city/v1/gw/gw-test-air/#');
    const metricsPort = await freePort();
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-test-air',
      mqtt: { url: broker.url, reconnect: { baseMs: 100, maxMs: 1000 } },
      outbox: { path: join(tempDir('edge-outbox'), 'gw.db') },
      health: { intervalMs: 1000 },
      metrics: { port: metricsPort },
      buses: [{ id: 'tcp-air', type: 'tcp', host: '127.0.0.1', port, timeoutMs: 2000 }],
      devices: [{ id: 'an-my-air-1', profile: 'air_station', bus: 'tcp-air', unitId: 255, pollIntervalMs: 300 }],
    });
    const gw = await startGateway(config, { logger: createLogger('edge-test', { level: 'silent' }) });
    try {
      const batches = () =>
        sub.messages.filter((m) => m.topic === topics.telemetry('gw-test-air')).map((m) => telemetryBatchSchema.parse(m.json));
      await waitFor(() => batches().flatMap((b) => b.readings).length >= 3, { what: 'three readings', timeoutMs: 20_000 });
      const readings = batches().flatMap((b) => b.readings);
      expect(readings[0]!.device).toBe('an-my-air-1');
      expect(readings[0]!.values).toEqual({
        so2: { v: 12, u: 'ug/m3' },
        no2: { v: 34, u: 'ug/m3' },
        co: { v: 560, u: 'ug/m3' },
        o3: { v: 78, u: 'ug/m3' },
        pm25: { v: 25, u: 'ug/m3' },
        pm10: { v: 40, u: 'ug/m3' },
        temperature: { v: 25.34, u: 'degC' },
        humidity: { v: 70.12, u: 'pct' },
      });
      const seqs = readings.map((r) => r.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);

      const status = sub.messages.find((m) => m.topic === topics.status('gw-test-air'));
      expect(gatewayStatusSchema.parse(status!.json).state).toBe('online');

      const health = await waitFor(() => sub.messages.find((m) => m.topic === topics.health('gw-test-air')), { what: 'a health report' });
      const h = gatewayHealthSchema.parse(health.json);
      expect(h.devices[0]!.device).toBe('an-my-air-1');
      expect(h.devices[0]!.ok).toBeGreaterThan(0);
      expect(h.rssBytes).toBeGreaterThan(0);

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/edge_device_polls_ok_total\{device="an-my-air-1"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/edge_mqtt_connected(\{[^}]*\})? 1/);
    } finally {
      await gw.close();
    }
    const offline = await waitFor(
      () =>
        sub.messages
          .filter((m) => m.topic === topics.status('gw-test-air'))
          .map((m) => m.json)
          .find((s) => s.state === 'offline'),
      { what: 'offline status' },
    );
    expect(offline.reason).toBe('shutdown');
    await sub.close();
  });
});
