import { z } from 'zod';

export const SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Ingest publishes one event each time a rule's condition for a source (device, station, gateway)
 * is raised, repeated or cleared. The dashboard server owns the alarm lifecycle built from them.
 */
export const alarmEventSchema = z.object({
  ruleId: z.string(),
  sourceId: z.string(),
  state: z.enum(['raised', 'cleared']),
  severity: z.enum(SEVERITIES),
  category: z.string(),
  ward: z.string().optional(),
  kind: z.string().optional(),
  device: z.string().optional(),
  gateway: z.string().optional(),
  field: z.string().optional(),
  value: z.number().nullable(),
  limit: z.number().nullable(),
  unit: z.string().optional(),
  since: z.number().int(),
  ts: z.number().int(),
  message: z.object({ vi: z.string(), en: z.string() }),
});
export type AlarmEvent = z.infer<typeof alarmEventSchema>;

/** Numbers in alarm texts and their API shape: whole above 100, else two decimals at most; none is "–". */
export function formatNumber(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '–';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100);
}
