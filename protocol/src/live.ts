import { z } from 'zod';

/** What ingest publishes on the live topics once readings are durable. */
export const liveReadingsSchema = z.object({
  readings: z.array(
    z.object({
      kind: z.string(),
      device: z.string(),
      gateway: z.string(),
      ward: z.string(),
      ts: z.number().int(),
      seq: z.number().int(),
      values: z.record(z.string(), z.number()),
    }),
  ),
});
export type LiveReadings = z.infer<typeof liveReadingsSchema>;
