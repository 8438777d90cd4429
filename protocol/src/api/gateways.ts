import { z } from 'zod';
import { GATEWAY_STATES } from './names';
import { COMMAND_STATUSES, commandResultSchema, commandSchema, gatewayEventSchema, gatewayHealthSchema } from '../gateway';

export const gatewayInfoSchema = z.object({
  id: z.string(),
  ward: z.string(),
  name: z.string(),
  state: z.enum(GATEWAY_STATES),
  lastSeen: z.number().nullable(),
  health: gatewayHealthSchema.nullable(),
  /** Why it went offline (`lwt` = connection lost) or the version it announced; from the retained status. */
  reason: z.string().optional(),
  version: z.string().optional(),
  /**
   * The gateway's clock minus the centre's when its last health report arrived (ms, positive: ahead; the report's
   * transit included). Absent until a report arrived since the dashboard started.
   */
  clockOffsetMs: z.number().optional(),
});
export type GatewayInfo = z.infer<typeof gatewayInfoSchema>;
export const gatewaysAnswerSchema = z.object({ gateways: z.array(gatewayInfoSchema) });

/** A command as the centre recorded it, with where it stands (`commandStatus`) and the timeout that applies. */
export const commandAnswerSchema = z.object({
  id: z.string(),
  gateway: z.string(),
  command: commandSchema,
  sentAt: z.number(),
  user: z.string(),
  result: commandResultSchema.nullable(),
  status: z.enum(COMMAND_STATUSES),
  timeoutMs: z.number(),
});

export type CommandAnswer = z.infer<typeof commandAnswerSchema>;

export const gatewayDetailSchema = gatewayInfoSchema.extend({
  events: z.array(gatewayEventSchema),
  /** Technicians and admins only. */
  commands: z.array(commandAnswerSchema).optional(),
});
export const commandSentSchema = z.object({ id: z.string(), timeoutMs: z.number() });
