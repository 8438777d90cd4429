import { z } from 'zod';
import { gatewayFleetHealthSchema } from './fleet';
import { ID_PATTERN } from './ids';

const id = z.string().regex(ID_PATTERN);

/** Retained on `status`; the last will publishes `{ state: 'offline', reason: 'lwt' }`. */
export const gatewayStatusSchema = z.object({
  gateway: id,
  state: z.enum(['online', 'offline']),
  ts: z.number().int(),
  reason: z.string().optional(),
  version: z.string().optional(),
});
export type GatewayStatus = z.infer<typeof gatewayStatusSchema>;

export const deviceHealthSchema = z.object({
  device: id,
  ok: z.number().int().nonnegative(),
  timeouts: z.number().int().nonnegative(),
  crcErrors: z.number().int().nonnegative(),
  exceptions: z.number().int().nonnegative(),
  lastOkTs: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastErrorTs: z.number().int().nullable(),
  backoffUntil: z.number().int().nullable(),
  pollIntervalMs: z.number().int().positive(),
  /** LoRaWAN devices: the radio side of their health, from ChirpStack's uplink, status and join events. */
  radio: z
    .object({
      devEui: z.string(),
      /** Best RSSI (dBm) and SNR (dB) among the LoRa gateways that heard the last uplink. */
      rssi: z.number().nullable(),
      snr: z.number().nullable(),
      spreadingFactor: z.number().int().nullable(),
      /** LoRa gateways that heard the last uplink. */
      gateways: z.number().int().nonnegative(),
      fCnt: z.number().int().nonnegative().nullable(),
      /** Battery 0..100 % from the last status event; null when unknown or externally powered. */
      batteryPct: z.number().nullable(),
      batteryTs: z.number().int().nullable(),
      lastJoinTs: z.number().int().nullable(),
    })
    .optional(),
});
export type DeviceHealth = z.infer<typeof deviceHealthSchema>;

export const gatewayHealthSchema = z.object({
  gateway: id,
  ts: z.number().int(),
  uptimeS: z.number().nonnegative(),
  version: z.string(),
  configHash: z.string(),
  cpuPct: z.number().nonnegative(),
  rssBytes: z.number().nonnegative(),
  diskFreeBytes: z.number().nonnegative().nullable(),
  /** Size of the file system holding the outbox (with diskFreeBytes: how full it is). Absent from older gateways. */
  diskTotalBytes: z.number().nonnegative().nullable().default(null),
  outbox: z.object({
    depth: z.number().int().nonnegative(),
    oldestTs: z.number().int().nullable(),
    bytes: z.number().int().nonnegative(),
    dropped: z.number().int().nonnegative(),
    /**
     * Readings the gateway took but could not commit to its outbox (disk full, I/O error): lost before they
     * were durable, since it started. Absent from gateways older than this field.
     */
    notDurable: z.number().int().nonnegative().default(0),
  }),
  devices: z.array(deviceHealthSchema),
  /**
   * The gateway's clock as it saw it: steps against its monotonic clock since it started, the last one
   * (ms, negative: backwards, and when), its clock era (readingSchema `era`), and whether the system says
   * it is synchronised. Absent from older gateways.
   */
  clock: z
    .object({
      era: z.number().int().nonnegative(),
      steps: z.number().int().nonnegative(),
      lastStepMs: z.number().int().nullable(),
      lastStepAt: z.number().int().nullable(),
      synced: z.boolean(),
    })
    .optional(),
  /** The pushed configuration this gateway runs and its last refused or rolled-back config or release. Absent from older gateways. */
  fleet: gatewayFleetHealthSchema.optional(),
});
export type GatewayHealth = z.infer<typeof gatewayHealthSchema>;

/** Commands from the centre, as a person asks for them (the API's body: the centre adds the id). */
const commandBodies = [
  z.object({ type: z.literal('read_now'), device: id.optional() }),
  z.object({ type: z.literal('set_poll_interval'), device: id, intervalMs: z.number().int().min(100).max(86_400_000) }),
  z.object({ type: z.literal('write_register'), device: id, field: z.string(), value: z.number().finite() }),
  z.object({ type: z.literal('reload_config') }),
] as const;
export const commandBodySchema = z.discriminatedUnion('type', [...commandBodies]);
export type CommandBody = z.infer<typeof commandBodySchema>;
const commandId = { id: z.string().min(1).max(64) };
/** Commands from the centre. Each carries a correlation id echoed in its result. */
export const commandSchema = z.discriminatedUnion('type', [
  z.object({ ...commandId, ...commandBodies[0].shape }),
  z.object({ ...commandId, ...commandBodies[1].shape }),
  z.object({ ...commandId, ...commandBodies[2].shape }),
  z.object({ ...commandId, ...commandBodies[3].shape }),
]);
export type Command = z.infer<typeof commandSchema>;

/** Why a command failed, for screens to say in the reader's language (`error` keeps the technical detail). */
export const COMMAND_ERROR_CODES = ['invalid_command', 'unknown_device', 'device_no_answer', 'not_writable', 'out_of_range'] as const;
export type CommandErrorCode = (typeof COMMAND_ERROR_CODES)[number];

export const commandResultSchema = z.object({
  id: z.string(),
  gateway: id,
  ok: z.boolean(),
  ts: z.number().int(),
  error: z.string().optional(),
  code: z.enum(COMMAND_ERROR_CODES).optional(),
  data: z.unknown().optional(),
});
export type CommandResult = z.infer<typeof commandResultSchema>;

/**
 * Where a command stands as the centre sees it: answered (ok or failed, as the device did), still waiting,
 * or given up on once the centre's timeout passed with no answer (a late answer still replaces `timeout`).
 */
export const COMMAND_STATUSES = ['pending', 'ok', 'failed', 'timeout'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
export function commandStatus(result: CommandResult | null, sentAt: number, timeoutMs: number, now: number): CommandStatus {
  if (result) return result.ok ? 'ok' : 'failed';
  return now - sentAt >= timeoutMs ? 'timeout' : 'pending';
}

/** Events raised at the edge (lamp failure bits seen, device came back, port lost…). Never dropped by the outbox. */
export const gatewayEventSchema = z.object({
  gateway: id,
  device: id.optional(),
  ts: z.number().int(),
  seq: z.number().int().nonnegative(),
  type: z.string(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type GatewayEvent = z.infer<typeof gatewayEventSchema>;
