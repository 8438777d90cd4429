import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '@tamky/service-kit';

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

export const vnAqiTableSchema = z
  .object({
    index: z.array(z.number().nonnegative()).min(2).refine(ascending, 'must be strictly ascending'),
    breakpoints: z.record(z.string(), z.array(z.number().nonnegative()).min(2).refine(ascending, 'must be strictly ascending')),
    nowcast: z.object({
      hours: z.number().int().min(1).max(48),
      minWeight: z.number().gt(0).max(1),
      newest: z.number().int().min(1),
      required: z.number().int().min(0),
    }),
    levels: z
      .array(
        z.object({
          level: z.number().int(),
          max: z.number(),
          vi: z.string(),
          en: z.string(),
          colour: z.string(),
          rgb: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
        }),
      )
      .min(1),
  })
  .superRefine((t, ctx) => {
    for (const [name, bps] of Object.entries(t.breakpoints)) {
      if (bps.length > t.index.length) ctx.addIssue({ code: 'custom', path: ['breakpoints', name], message: `has ${bps.length} breakpoints but index has ${t.index.length}` });
    }
  });
export type VnAqiTable = z.output<typeof vnAqiTableSchema>;

export const noiseLimitsSchema = z.object({
  edition: z.string(),
  dayStartHour: z.number().int().min(0).max(23),
  nightStartHour: z.number().int().min(0).max(23),
  zones: z.record(z.string(), z.object({ day: z.number(), night: z.number() })),
  defaultZone: z.string(),
});
export type NoiseLimits = z.output<typeof noiseLimitsSchema>;

export const airLimitsSchema = z.object({
  edition: z.string(),
  unit: z.string(),
  limits: z.record(z.string(), z.record(z.string(), z.number().positive())),
});
export type AirLimits = z.output<typeof airLimitsSchema>;

export const congestionConfigSchema = z.object({
  jamOccupancyPct: z.number().positive().max(100),
  freeFlowSpeedKmh: z.number().positive(),
  levels: z.array(z.object({ max: z.number(), en: z.string(), vi: z.string() })).min(1),
});
export type CongestionConfig = z.output<typeof congestionConfigSchema>;

export interface Limits {
  vnAqi: VnAqiTable;
  noise: NoiseLimits;
  air: AirLimits;
  congestion: CongestionConfig;
}

/** Loads every limits file from `dir`; errors name the file, the field and the problem. */
export function loadLimits(dir: string): Limits {
  return {
    vnAqi: loadConfigFile(join(dir, 'vn-aqi.yaml'), vnAqiTableSchema),
    noise: loadConfigFile(join(dir, 'qcvn26-2010.yaml'), noiseLimitsSchema),
    air: loadConfigFile(join(dir, 'qcvn05-2013.yaml'), airLimitsSchema),
    congestion: loadConfigFile(join(dir, 'congestion.yaml'), congestionConfigSchema),
  };
}
