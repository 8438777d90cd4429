import { z } from 'zod';
import { storedReadingSchema } from '../telemetry';
import { alarmSchema } from './alarms';
import { ROLLOUT_STAGES } from './fleet';
import { gatewayInfoSchema } from './gateways';

export const LIVE_CHANNELS = ['readings', 'derived', 'alarms', 'gateways'] as const;
export type LiveChannel = (typeof LIVE_CHANNELS)[number];

/** What the dashboard's WebSocket (/ws) sends. */
export const liveMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), serverTime: z.number() }),
  z.object({ type: z.literal('ping'), serverTime: z.number() }),
  z.object({ type: z.literal('readings'), readings: z.array(storedReadingSchema) }),
  z.object({ type: z.literal('derived'), readings: z.array(storedReadingSchema) }),
  z.object({ type: z.literal('alarm'), alarm: alarmSchema }),
  z.object({ type: z.literal('gateway'), gateway: gatewayInfoSchema.pick({ id: true, state: true, lastSeen: true, health: true }) }),
  /** An admin saved a new device registry: refetch /api/city. */
  z.object({ type: z.literal('registry'), version: z.number() }),
  /** A staged gateway software rollout changed stage: refetch /api/fleet/rollouts. */
  z.object({ type: z.literal('rollout'), id: z.number().int(), stage: z.enum(ROLLOUT_STAGES) }),
]);
export type LiveMessage = z.infer<typeof liveMessageSchema>;
