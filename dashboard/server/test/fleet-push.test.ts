import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedConfigSchema, topics, type SignedConfig } from '@tamky/protocol';
import { configSignatureProblem, fleetPublicKey, generateFleetKeys } from '@tamky/service-kit';
import { tempDir, waitFor } from '@tamky/test-support';
import { api, login, mqttClient, startHarness, type Harness } from './helpers';

/**
 * The centre's side of configuration push: every registered gateway gets its devices and poll intervals from the
 * registry, signed with the fleet key, retained on its config topic; editing a device in the registry raises that
 * gateway's version (only that one), and a restart does not. Real mosquitto, real dashboard.
 */
describe('gateway configuration pushed from the registry', () => {
  let h: Harness;
  let sub: MqttClient;
  const keys = generateFleetKeys();
  const latest = new Map<string, SignedConfig>();

  beforeAll(async () => {
    const dir = tempDir('fleet-push');
    writeFileSync(join(dir, 'fleet.key'), keys.privateKeyPem);
    h = await startHarness({ config: { fleet: { signingKeyFile: join(dir, 'fleet.key') } } });
    sub = await mqttClient(h.mqttUrl);
    sub.on('message', (_topic, payload) => {
      const doc = signedConfigSchema.parse(JSON.parse(payload.toString()));
      latest.set(doc.gateway, doc);
    });
    await sub.subscribeAsync('city/v1/gw/+/config', { qos: 1 });
  });
  afterAll(async () => {
    await sub?.endAsync();
    await h?.close();
  });

  it('publishes each gateway its registry devices, signed, as version 1', async () => {
    await waitFor(() => latest.size === h.city.gateways.length || undefined, { what: 'a config for every gateway' });
    const gw = h.city.gateways[0]!.id;
    const doc = latest.get(gw)!;
    expect(doc.version).toBe(1);
    expect(configSignatureProblem(doc, fleetPublicKey(keys.publicKeyPem))).toBeUndefined();
    const expected = h.city.devices
      .filter((d) => d.gateway === gw && !d.lorawan)
      .map((d) => ({ id: d.id, pollIntervalMs: d.pollIntervalMs }))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(doc.config.devices).toEqual(expected);
  });

  it('raises the version of the gateway whose device changed, and only that one; a restart keeps versions', async () => {
    const device = h.city.devices.find((d) => !d.lorawan)!;
    const other = h.city.gateways.find((g) => g.id !== device.gateway)!.id;
    const admin = await login(h.url, 'admin');
    const res = await api(h.url, admin, 'PUT', `/api/admin/registry/devices/${device.id}`, {
      device: { ...device, pollIntervalMs: device.pollIntervalMs + 1000 },
    });
    expect(res.status).toBe(200);
    const doc = await waitFor(() => (latest.get(device.gateway)?.version === 2 ? latest.get(device.gateway) : undefined), {
      what: 'version 2',
    });
    expect(doc.config.devices.find((d) => d.id === device.id)?.pollIntervalMs).toBe(device.pollIntervalMs + 1000);
    expect(latest.get(other)?.version).toBe(1);

    latest.clear();
    await h.restart();
    const retained = await mqttClient(h.mqttUrl);
    const seen = new Map<string, number>();
    retained.on('message', (_t, p) => {
      const d = JSON.parse(p.toString()) as SignedConfig;
      seen.set(d.gateway, d.version);
    });
    await retained.subscribeAsync(topics.gatewayConfig(device.gateway), { qos: 1 });
    await waitFor(() => seen.get(device.gateway), { what: 'the retained config after restart' });
    await waitFor(() => latest.get(device.gateway), { what: 'the config published again after restart' });
    expect(latest.get(device.gateway)!.version).toBe(2);
    expect(seen.get(device.gateway)).toBe(2);
    await retained.endAsync();
  });
});
