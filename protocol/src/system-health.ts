import { z } from 'zod';
import { ID_PATTERN } from './ids';

/**
 * The system watching itself: each service measures what could stop it keeping readings or alarms (its disk,
 * its store, its backlog, the broker's connections and session queues, certificates about to expire) and
 * reports the measurements; alarm rules of type `system` (config/rules) decide what is a problem. The broker
 * publishes its report on topics.systemHealth(service); ingest hands its own straight to its detector.
 */
export const SYSTEM_CHECKS = [
  /** Percent used of the file system under a service's data (ingest: the embedded store's volume). */
  'disk_used_percent',
  /** Seconds the store has been refusing writes (0 while writes succeed). */
  'store_write_failing_s',
  /** Age in seconds of the oldest message ingest holds unacknowledged (0 when none). */
  'ingest_lag_s',
  /** Connected clients as a percent of the broker's maxConnections. */
  'broker_connections_percent',
  /** Messages queued for one persistent session whose client is offline. */
  'session_queue',
  /** Days until a certificate expires (negative once it has). */
  'cert_days_left',
] as const;
export type SystemCheck = (typeof SYSTEM_CHECKS)[number];

const id = z.string().regex(ID_PATTERN);

export const systemSampleSchema = z.object({
  check: z.enum(SYSTEM_CHECKS),
  /** What was measured, unique per service and check (a volume, a session, a certificate): part of the alarm's source. */
  subject: id,
  value: z.number().finite(),
  /** Words and numbers for the alarm text (path, counts, dates). */
  detail: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});
export type SystemSample = z.infer<typeof systemSampleSchema>;

export const systemHealthSchema = z.object({
  service: id,
  ts: z.number().int(),
  /** Every subject the service watches, each time: a subject missing from a report is taken as healthy. */
  samples: z.array(systemSampleSchema).max(1000),
});
export type SystemHealth = z.infer<typeof systemHealthSchema>;
export type SystemHealthInput = z.input<typeof systemHealthSchema>;

/** A subject made into a valid id (a session's client id may hold ':'). */
export function systemSubject(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[_.-]+/, '');
  return (s || 'x').slice(0, 64);
}

/** The alarm source of a system sample: `{service}.{subject}`, kept a valid id (a topic level). */
export function systemSourceId(service: string, subject: string): string {
  return systemSubject(`${service}.${subject}`);
}
