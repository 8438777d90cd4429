import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cityModelSchema, ConfigError } from '@tamky/protocol';
import { backoffDelay, loadConfigFile } from '../src/index';

describe('loadConfigFile', () => {
  it('loads and validates the shipped Tam Kỳ city model', () => {
    const city = loadConfigFile('config/tam-ky/city.yaml', cityModelSchema);
    expect(city.wards).toHaveLength(13);
    expect(city.devices.length).toBeGreaterThanOrEqual(50);
  });

  it('names the file, the field and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'city.yaml');
    writeFileSync(
      file,
      'id: x\nname: X\nlat: 1\nlon: 2\nwards: [{id: w1, name: W, type: phuong, lat: 1, lon: 2, map: {x: 1, y: 1}}]\ngateways: [{id: g1, ward: w1, name: G}]\ndevices: [{id: d1, kind: air_station, name: D, ward: nowhere, gateway: g1, lat: 1, lon: 2}]\n',
    );
    try {
      loadConfigFile(file, cityModelSchema);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).details).toBe(`${file}: devices[0].ward: unknown ward "nowhere"`);
    }
  });

  it('reports unreadable and unparsable files with the file name', () => {
    expect(() => loadConfigFile('/nonexistent.yaml', cityModelSchema)).toThrow(/nonexistent.yaml: cannot read/);
  });
});

describe('expandEnv', () => {
  it('substitutes environment variables and defaults, and names the field of an unset one', async () => {
    const { expandEnv } = await import('../src/index');
    const env = { MQTT_PASSWORD: 's3cret' };
    expect(expandEnv({ mqtt: { password: '${MQTT_PASSWORD}', url: 'mqtt://${HOST:-localhost}:1883' } }, 'x.yaml', env)).toEqual({
      mqtt: { password: 's3cret', url: 'mqtt://localhost:1883' },
    });
    expect(() => expandEnv({ users: [{ pw: '${ADMIN_PASSWORD}' }] }, 'x.yaml', env)).toThrow(
      /x.yaml: users\[0\].pw: environment variable ADMIN_PASSWORD is not set/,
    );
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, jittered below the ceiling', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(3, 1000, 60_000, () => 0.5)).toBe(4000);
  });
});

describe('serveMetrics', () => {
  it('serves a registry on /metrics with its service label, and 404 elsewhere', async () => {
    const { createMetricsRegistry, serveMetrics } = await import('../src/index');
    const { Counter } = await import('prom-client');
    const registry = createMetricsRegistry('edge', false);
    new Counter({ name: 'readings_total', help: 'readings', registers: [registry] }).inc(3);
    const server = await serveMetrics([registry], 0);
    try {
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      expect(text).toContain('readings_total{service="edge"} 3');
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
