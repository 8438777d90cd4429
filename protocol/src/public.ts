import { z } from 'zod';

/**
 * What residents may see (`GET /api/public/summary`, the /public page and its embed): per ward, only the
 * kinds and fields the city lists in the dashboard config's `public:` section. Every object is strict, so
 * the server's answer is checked against this before it leaves: a field added to the overview never leaks.
 */
export const PUBLIC_FIELDS = {
  /** VN_AQI: value, level code, official name and colour, health advice (all from config/limits/vn-aqi.yaml). */
  aqi: ['value', 'level', 'name', 'color', 'advice', 'ts'],
  /** Noise: LAeq against its QCVN 26 limit for the zone and time of day. */
  noise: ['laeq', 'limit', 'ts'],
  /** Flood: the warning level reached (0 = below the first) out of the station's levels, and the water level. */
  flood: ['stage', 'stages', 'level', 'ts'],
} as const;
export type PublicKind = keyof typeof PUBLIC_FIELDS;
export const PUBLIC_KINDS = Object.keys(PUBLIC_FIELDS) as PublicKind[];

const text = z.object({ vi: z.string(), en: z.string() }).strict();
const at = z.number().int();

export const publicWardSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    /** Where the ward sits on the schematic map (0..100) and on a geographic one (WGS84). */
    map: z.object({ x: z.number(), y: z.number() }).strict(),
    lat: z.number(),
    lon: z.number(),
    aqi: z
      .object({ value: z.number(), level: z.string(), name: text, color: z.string(), advice: text, ts: at })
      .partial()
      .strict()
      .nullable()
      .optional(),
    noise: z.object({ laeq: z.number(), limit: z.number(), ts: at }).partial().strict().nullable().optional(),
    flood: z
      .object({ stage: z.number().int(), stages: z.number().int(), level: z.number(), ts: at })
      .partial()
      .strict()
      .nullable()
      .optional(),
  })
  .strict();
export type PublicWard = z.infer<typeof publicWardSchema>;

/** `GET /api/public/summary`: the whole city, or ?ward= for one. */
export const publicSummaryQuerySchema = z.object({ ward: z.string().min(1).max(64).optional() }).strict();

export const publicSummarySchema = z
  .object({
    /** When the summary was built (it is cached for a few seconds). */
    ts: at,
    city: z.string(),
    wards: z.array(publicWardSchema),
  })
  .strict();
export type PublicSummary = z.infer<typeof publicSummarySchema>;

/** `GET /api/public/map` reads no parameters: the basemap and the public wards' outlines, the same for everyone. */
export const publicMapQuerySchema = z.object({}).strict();
