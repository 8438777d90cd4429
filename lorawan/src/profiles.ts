import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEVICE_KINDS, KIND_FIELDS, type Device, type DeviceKind } from '@tamky/protocol';
import { Codec, CodecError } from './codecs/sandbox';

export const DEFAULT_CODECS_DIR = fileURLToPath(new URL('../codecs', import.meta.url));

const fieldMapSchema = z.object({
  /** Key in the decoded object (dots walk into nested objects). */
  from: z.string().min(1),
  scale: z.number().finite().default(1),
  offset: z.number().finite().default(0),
  /** Adds the registry device's mounting height (water level = mounting height − distance). */
  offsetFrom: z.enum(['mountingHeightM']).optional(),
});

/**
 * How one kind of LoRaWAN device's payload becomes a reading of our kinds: which decoder (a codec we ship,
 * or none: ChirpStack's own decoded `object`), which decoded key feeds which of our fields, and how our lamp
 * commands become a downlink. Data, in config/lorawan/profiles.yaml.
 */
export const profileSchema = z
  .object({
    kind: z.enum(DEVICE_KINDS),
    /** Codec file name in the codecs folder, without .js; absent: ChirpStack's decoded `object`. */
    codec: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .optional(),
    fields: z.record(z.string(), fieldMapSchema),
    downlink: z
      .object({
        codec: z.string().regex(/^[a-z0-9-]+$/),
        /** Our writable field (write_register's `field`) → the key the codec's encodeDownlink reads. */
        fields: z.record(z.string(), z.string()),
        fPort: z.number().int().min(1).max(223).default(10),
        /** A confirmed downlink not acknowledged by then is a failed command (class A waits for an uplink). */
        ackTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .default(20 * 60_000),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const known = KIND_FIELDS[p.kind];
    for (const f of [...Object.keys(p.fields), ...Object.keys(p.downlink?.fields ?? {})]) {
      if (!known[f]) ctx.addIssue({ code: 'custom', path: ['fields', f], message: `${p.kind} has no field "${f}"` });
    }
  });

export const profilesFileSchema = z.object({ profiles: z.record(z.string(), profileSchema) });
export type Profile = z.infer<typeof profileSchema>;

export type Decoded = { ok: true; values: Record<string, { v: number; u: string }> } | { ok: false; reason: string };

function pick(data: Record<string, unknown>, path: string): unknown {
  let at: unknown = data;
  for (const key of path.split('.')) {
    if (!at || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Profiles with their codecs loaded once; decoding never throws (a failure is a reason for a dead letter). */
export class ProfileSet {
  private readonly codecs = new Map<string, Codec>();

  constructor(
    readonly profiles: Record<string, Profile>,
    codecsDir: string,
    codecTimeoutMs: number,
  ) {
    const available = new Map(
      readdirSync(codecsDir)
        .filter((f) => f.endsWith('.js'))
        .map((f) => [basename(f, '.js'), join(codecsDir, f)]),
    );
    for (const [name, p] of Object.entries(profiles)) {
      for (const codec of [p.codec, p.downlink?.codec]) {
        if (!codec || this.codecs.has(codec)) continue;
        const file = available.get(codec);
        if (!file) throw new Error(`profile ${name}: no codec "${codec}" in ${codecsDir}`);
        this.codecs.set(codec, new Codec(codec, readFileSync(file, 'utf8'), codecTimeoutMs));
      }
    }
  }

  get(name: string): Profile | undefined {
    return this.profiles[name];
  }

  decode(
    device: Device,
    profile: Profile,
    input: { bytes: Uint8Array; fPort: number; recvTime: string; object?: Record<string, unknown> },
  ): Decoded {
    let data: Record<string, unknown>;
    if (profile.codec) {
      try {
        data = this.codecs.get(profile.codec)!.decode(input.bytes, input.fPort, input.recvTime);
      } catch (err) {
        return { ok: false, reason: err instanceof CodecError ? err.message : `codec ${profile.codec}: ${(err as Error).message}` };
      }
    } else if (input.object) data = input.object;
    else return { ok: false, reason: 'no decoded object from ChirpStack and no codec in the profile' };
    const values: Record<string, { v: number; u: string }> = {};
    const kindFields = KIND_FIELDS[device.kind as DeviceKind];
    for (const [field, map] of Object.entries(profile.fields)) {
      const raw = pick(data, map.from);
      if (raw === undefined || raw === null) continue;
      if (typeof raw !== 'number' || !Number.isFinite(raw))
        return { ok: false, reason: `decoded ${map.from} is ${JSON.stringify(raw)}, not a number` };
      const offset = map.offset + (map.offsetFrom ? (device[map.offsetFrom] ?? Number.NaN) : 0);
      const v = raw * map.scale + offset;
      if (!Number.isFinite(v)) return { ok: false, reason: `field ${field}: device ${device.id} has no ${map.offsetFrom}` };
      values[field] = { v: Math.round(v * 1e6) / 1e6, u: kindFields[field]!.unit };
    }
    if (Object.keys(values).length === 0)
      return {
        ok: false,
        reason: `decoded payload has none of ${Object.values(profile.fields)
          .map((m) => m.from)
          .join(', ')}`,
      };
    return { ok: true, values };
  }

  /** The downlink for write_register(field, value), or why there is none. */
  encode(profile: Profile, field: string, value: number): { ok: true; bytes: Uint8Array; fPort: number } | { ok: false; reason: string } {
    const d = profile.downlink;
    const key = d?.fields[field];
    if (!d || !key) return { ok: false, reason: `field ${field} is not writable over LoRaWAN for this device` };
    try {
      const out = this.codecs.get(d.codec)!.encode({ [key]: value });
      return { ok: true, bytes: out.bytes, fPort: out.fPort ?? d.fPort };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }
}
