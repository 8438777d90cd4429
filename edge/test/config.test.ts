import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, KIND_FIELDS } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { tempDir } from '@tamky/test-support';
import { DEFAULT_PROFILES_DIR, deviceBlocks, gatewayConfigSchema, loadProfile, planReads } from '../src/index';

const base = {
  gatewayId: 'gw-an-my',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
  outbox: { path: './data/x.db' },
  buses: [{ id: 'rs485-1', type: 'rtu', path: '/dev/ttyUSB0' }],
};

function configError(config: unknown, profilesDir?: string): string {
  const dir = tempDir('edge-config');
  const file = join(dir, 'gw.yaml');
  writeFileSync(file, stringify(profilesDir ? { ...(config as object), profilesDir } : config));
  try {
    loadConfigFile(file, gatewayConfigSchema);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).details;
  }
  throw new Error('config was accepted');
}

describe('shipped profiles', () => {
  const names = readdirSync(DEFAULT_PROFILES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''));

  it('all validate, and publish exactly the protocol fields with their units', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'air_station',
        'pm_sensor',
        'pm_sensor_sds011',
        'noise_meter',
        'water_level',
        'street_light',
        'traffic_counter',
      ]),
    );
    for (const name of names) {
      const p = loadProfile(DEFAULT_PROFILES_DIR, name);
      const fields = [...(p.blocks ?? []).flatMap((b) => b.fields.filter((f) => f.publish)), ...(p.stream?.fields ?? [])];
      for (const f of fields) expect(KIND_FIELDS[p.kind][f.name]?.unit, `${name}.${f.name}`).toBe(f.unit);
    }
  });

  it('every published field of a kind is covered by its Modbus profile', () => {
    for (const name of ['air_station', 'noise_meter', 'water_level', 'street_light', 'traffic_counter', 'pm_sensor']) {
      const p = loadProfile(DEFAULT_PROFILES_DIR, name);
      const have = new Set(p.blocks!.flatMap((b) => b.fields.filter((f) => f.publish).map((f) => f.name)));
      expect([...have].sort(), name).toEqual(Object.keys(KIND_FIELDS[p.kind]).sort());
    }
  });

  it('plans reads within 125 registers: street light = 8 lamp reads + 1 meter read; air station one read', () => {
    const light = loadProfile(DEFAULT_PROFILES_DIR, 'street_light');
    const plan = planReads(deviceBlocks(light), light.maxGap);
    expect(plan).toHaveLength(9);
    for (const r of plan) expect(r.count).toBeLessThanOrEqual(125);
    const air = loadProfile(DEFAULT_PROFILES_DIR, 'air_station');
    expect(planReads(deviceBlocks(air), air.maxGap)).toEqual([expect.objectContaining({ table: 'holding', address: 3, count: 8 })]);
    // Two lamps only: the other six blocks are not read at all.
    expect(planReads(deviceBlocks(light, {}, ['lamp1_level', 'lamp1_status', 'lamp2_level', 'power']), light.maxGap)).toHaveLength(3);
  });

  it('merges neighbouring blocks with gap filling', () => {
    const p = {
      kind: 'noise_meter' as const,
      maxGap: 4,
      blocks: [
        { table: 'holding' as const, address: 0, count: 2, fields: [] },
        { table: 'holding' as const, address: 5, count: 1, fields: [] },
        { table: 'holding' as const, address: 200, count: 1, fields: [] },
      ],
    };
    const f = (address: number) => ({
      name: 'laeq',
      address,
      type: 'uint16' as const,
      wordOrder: 'big' as const,
      scale: 1,
      offset: 0,
      unit: 'dBA' as const,
      publish: true,
    });
    p.blocks.forEach((b) => (b.fields as unknown[]).push(f(b.address)));
    expect(planReads(p.blocks as never, 4).map((r) => [r.address, r.count])).toEqual([
      [0, 6],
      [200, 1],
    ]);
  });
});

describe('config validation names file, device and field', () => {
  it('unknown override field names the device and the profile', () => {
    const msg = configError({
      ...base,
      devices: [{ id: 'an-xuan-water-1', profile: 'water_level', bus: 'rs485-1', unitId: 12, overrides: { levl: { offset: 6 } } }],
    });
    expect(msg).toMatch(/gw\.yaml: devices\[0\]\.overrides\.levl: device "an-xuan-water-1": field "levl" is not in profile "water_level"/);
  });

  it('unknown bus, unknown profile and duplicate ids', () => {
    const msg = configError({
      ...base,
      devices: [
        { id: 'd1', profile: 'air_station', bus: 'nope' },
        { id: 'd1', profile: 'no_such_profile', bus: 'rs485-1' },
      ],
    });
    expect(msg).toMatch(/devices\[0\]\.bus: device "d1": unknown bus "nope"/);
    expect(msg).toMatch(/devices\[1\]\.id: duplicate device id "d1"/);
    expect(msg).toMatch(
      /devices\[1\]\.profile: device "d1": profile "no_such_profile" is invalid:[\s\S]*no_such_profile\.yaml: no such profile/,
    );
  });

  it('a broken profile file: the error names the device, the profile file and the field', () => {
    const dir = tempDir('edge-profiles');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'bad_air.yaml'),
      stringify({
        kind: 'air_station',
        blocks: [
          {
            table: 'holding',
            address: 3,
            count: 2,
            fields: [
              { name: 'pm25', address: 3, unit: 'mg/m3' },
              { name: 'pm10', address: 9, unit: 'ug/m3' },
            ],
          },
        ],
      }),
    );
    const msg = configError({ ...base, devices: [{ id: 'air-1', profile: 'bad_air', bus: 'rs485-1' }] }, dir);
    expect(msg).toMatch(/devices\[0\]\.profile: device "air-1": profile "bad_air" is invalid/);
    expect(msg).toMatch(/bad_air\.yaml: blocks\[0\]\.fields\[0\]\.unit: field "pm25" must be in ug\/m3, not mg\/m3/);
    expect(msg).toMatch(/bad_air\.yaml: blocks\[0\]\.fields\[1\]\.address: field "pm10" \(9, 1 registers\) lies outside block 3\.\.4/);
  });

  it('plain field errors name the path', () => {
    const msg = configError({
      ...base,
      mqtt: { url: 'http://x' },
      devices: [{ id: 'x', profile: 'air_station', bus: 'rs485-1', pollIntervalMs: 5 }],
    });
    expect(msg).toMatch(/mqtt\.url: must be an mqtt:\/\//);
    expect(msg).toMatch(/devices\[0\]\.pollIntervalMs/);
  });

  it('a UART profile on a Modbus bus is refused', () => {
    const msg = configError({ ...base, devices: [{ id: 'pm-1', profile: 'pm_sensor_sds011', bus: 'rs485-1' }] });
    expect(msg).toMatch(/device "pm-1": profile "pm_sensor_sds011" is a UART stream profile but bus "rs485-1" is rtu/);
  });

  it('a client certificate comes with its key, over TLS only', () => {
    expect(configError({ ...base, mqtt: { url: 'mqtts://b:8883', certFile: '/etc/tamky-gateway/gw.crt' }, devices: [] })).toMatch(
      /mqtt\.keyFile: certFile and keyFile go together/,
    );
    expect(configError({ ...base, mqtt: { url: 'mqtt://b:1883', certFile: '/x.crt', keyFile: '/x.key' }, devices: [] })).toMatch(
      /mqtt\.url: a client certificate needs an mqtts:\/\/ or wss:\/\/ URL/,
    );
  });

  it('a replay cap below the live reading rate is refused (a backlog would never drain)', () => {
    const devices = Array.from({ length: 20 }, (_, i) => ({
      id: `n${i}`,
      profile: 'noise_meter',
      bus: 'rs485-1',
      unitId: i + 1,
      pollIntervalMs: 100,
    }));
    const msg = configError({ ...base, outbox: { path: './x.db', replayPerSecond: 250 }, devices });
    expect(msg).toMatch(
      /outbox\.replayPerSecond: 250 readings\/s cannot drain a backlog while the devices produce 200\.0 readings\/s: set it to at least 300/,
    );
  });
});
