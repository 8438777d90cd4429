import { z } from 'zod';
import { ID_HINT, ID_PATTERN } from './ids';
import { DEVICE_KINDS } from './kinds';

const id = z.string().regex(ID_PATTERN, ID_HINT);

/**
 * The city model is data: administrative units change (Vietnam merged units in 2025), so wards,
 * their positions on the schematic map, gateways and devices all come from a file the city edits.
 */
export const wardSchema = z.object({
  id,
  name: z.string().min(1),
  type: z.enum(['phuong', 'xa']),
  /** Centre of the ward, WGS84. */
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  /** Position on the schematic map, 0..100 on both axes (no map tiles: the centre may be offline). */
  map: z.object({ x: z.number().min(0).max(100), y: z.number().min(0).max(100) }),
});

export const deviceSchema = z.object({
  id,
  kind: z.enum(DEVICE_KINDS),
  name: z.string().min(1),
  ward: id,
  gateway: id,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  pollIntervalMs: z.number().int().min(100).default(5000),
  /**
   * How often the device publishes when that is slower than it is polled (a traffic counter publishes once
   * per closed counting interval). Absent: once per poll. Staleness is judged from this, per device.
   */
  publishIntervalMs: z.number().int().min(100).optional(),
  /** Noise meters: QCVN 26 zone. */
  zone: z.enum(['special', 'normal']).optional(),
  /** Water-level stations: alarm levels 1, 2, 3 in metres (báo động 1/2/3). */
  alarmLevels: z.tuple([z.number(), z.number(), z.number()]).optional(),
  /** Water-level stations: sensor mounting height above the level datum, metres. */
  mountingHeightM: z.number().positive().optional(),
  /** Street-light controllers: number of luminaires and rated power of each, W. */
  lamps: z.number().int().min(1).max(8).optional(),
  ratedPowerW: z.number().positive().optional(),
  /** Traffic counters: lanes. */
  lanes: z.number().int().min(1).max(4).optional(),
  tags: z.array(z.string()).default([]),
  /**
   * LoRaWAN devices (read through the LoRaWAN connector, whose id is `gateway`): the DevEUI ChirpStack names
   * the device by, and the LoRaWAN profile that says how its payload decodes (lorawan/ profiles). For these,
   * pollIntervalMs is the device's own uplink interval, so no-data alarms follow it.
   */
  lorawan: z
    .object({
      devEui: z
        .string()
        .regex(/^[0-9a-fA-F]{16}$/, 'must be 16 hex digits')
        .transform((s) => s.toLowerCase()),
      profile: id,
    })
    .optional(),
});

export const gatewaySchema = z.object({
  id,
  ward: id,
  name: z.string().min(1),
});

export const cityModelSchema = z
  .object({
    id,
    name: z.string(),
    timeZone: z.string().default('Asia/Ho_Chi_Minh'),
    lat: z.number(),
    lon: z.number(),
    wards: z.array(wardSchema).min(1),
    gateways: z.array(gatewaySchema),
    devices: z.array(deviceSchema),
  })
  .superRefine((city, ctx) => {
    const wards = new Set(city.wards.map((w) => w.id));
    const gateways = new Set(city.gateways.map((g) => g.id));
    const seen = new Set<string>();
    const devEuis = new Map<string, string>();
    city.gateways.forEach((g, i) => {
      if (!wards.has(g.ward)) ctx.addIssue({ code: 'custom', path: ['gateways', i, 'ward'], message: `unknown ward "${g.ward}"` });
    });
    city.devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `duplicate device id "${d.id}"` });
      seen.add(d.id);
      if (!wards.has(d.ward)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'ward'], message: `unknown ward "${d.ward}"` });
      if (!gateways.has(d.gateway))
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'gateway'], message: `unknown gateway "${d.gateway}"` });
      if (d.lorawan) {
        const other = devEuis.get(d.lorawan.devEui);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path: ['devices', i, 'lorawan', 'devEui'],
            message: `DevEUI ${d.lorawan.devEui} is already device "${other}"`,
          });
        devEuis.set(d.lorawan.devEui, d.id);
      }
    });
  });

export type Ward = z.infer<typeof wardSchema>;
export type Device = z.infer<typeof deviceSchema>;
export type Gateway = z.infer<typeof gatewaySchema>;
export type CityModel = z.infer<typeof cityModelSchema>;
