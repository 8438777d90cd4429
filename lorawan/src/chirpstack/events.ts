import { z } from 'zod';

/**
 * ChirpStack v4's MQTT integration with the JSON marshaler: events on
 * `application/{applicationId}/device/{devEui}/event/{type}`, downlinks taken on
 * `application/{applicationId}/device/{devEui}/command/down`. Payloads are the protobuf messages of
 * `chirpstack/api/proto/integration/integration.proto` in the proto3 JSON mapping: lowerCamelCase names,
 * bytes as base64, timestamps as RFC 3339 strings, and fields at their default value left out (so an uplink
 * with frame counter 0, the first after a join, has no `fCnt` at all). Only what the connector reads is
 * checked here; everything else passes through untouched.
 */
export const EVENT_TYPES = ['up', 'status', 'join', 'ack', 'txack', 'log'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const eventsFilter = (applicationId = '+') => `application/${applicationId}/device/+/event/+`;
export const downlinkTopic = (applicationId: string, devEui: string) => `application/${applicationId}/device/${devEui}/command/down`;

export function parseEventTopic(topic: string): { applicationId: string; devEui: string; type: EventType } | undefined {
  const p = topic.split('/');
  if (p.length !== 6 || p[0] !== 'application' || p[2] !== 'device' || p[4] !== 'event') return undefined;
  const type = p[5] as EventType;
  if (!(EVENT_TYPES as readonly string[]).includes(type) || !/^[0-9a-fA-F]{16}$/.test(p[3]!)) return undefined;
  return { applicationId: p[1]!, devEui: p[3]!.toLowerCase(), type };
}

const time = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an RFC 3339 time');
const deviceInfo = z.looseObject({
  applicationId: z.string().default(''),
  deviceProfileName: z.string().default(''),
  devEui: z
    .string()
    .regex(/^[0-9a-fA-F]{16}$/)
    .transform((s) => s.toLowerCase()),
});

const rxInfo = z.looseObject({ gatewayId: z.string().default(''), rssi: z.number().default(0), snr: z.number().default(0) });

export const uplinkEventSchema = z.looseObject({
  deduplicationId: z.string().min(1),
  time,
  deviceInfo,
  devAddr: z.string().default(''),
  fCnt: z.number().int().nonnegative().default(0),
  fPort: z.number().int().nonnegative().default(0),
  data: z.string().default(''),
  object: z.record(z.string(), z.unknown()).optional(),
  rxInfo: z.array(rxInfo).default([]),
  txInfo: z
    .looseObject({
      modulation: z.looseObject({ lora: z.looseObject({ spreadingFactor: z.number().int().optional() }).optional() }).optional(),
    })
    .optional(),
});

export const statusEventSchema = z.looseObject({
  time,
  deviceInfo,
  margin: z.number().default(0),
  externalPowerSource: z.boolean().default(false),
  batteryLevelUnavailable: z.boolean().default(false),
  batteryLevel: z.number().default(0),
});

export const joinEventSchema = z.looseObject({ time, deviceInfo, devAddr: z.string().default('') });

export const ackEventSchema = z.looseObject({
  time,
  deviceInfo,
  queueItemId: z.string().default(''),
  acknowledged: z.boolean().default(false),
  fCntDown: z.number().default(0),
});

export const txAckEventSchema = z.looseObject({ time, deviceInfo, queueItemId: z.string().default(''), gatewayId: z.string().default('') });

export const logEventSchema = z.looseObject({
  time,
  deviceInfo,
  level: z.string().default('INFO'),
  code: z.string().default('UNKNOWN'),
  description: z.string().default(''),
});

export type UplinkEvent = z.infer<typeof uplinkEventSchema>;
export type StatusEvent = z.infer<typeof statusEventSchema>;
export type JoinEvent = z.infer<typeof joinEventSchema>;
export type AckEvent = z.infer<typeof ackEventSchema>;
export type TxAckEvent = z.infer<typeof txAckEventSchema>;
export type LogEvent = z.infer<typeof logEventSchema>;

/** The DownlinkCommand message ChirpStack takes on command/down (its `id` comes back as the events' queueItemId). */
export interface DownlinkCommand {
  id: string;
  devEui: string;
  confirmed: boolean;
  fPort: number;
  data: string;
}

/** Best signal among the gateways that heard an uplink, the spreading factor and how many heard it. */
export function radioOf(up: UplinkEvent): { rssi: number | null; snr: number | null; spreadingFactor: number | null; gateways: number } {
  let rssi: number | null = null;
  let snr: number | null = null;
  for (const rx of up.rxInfo) {
    if (rssi === null || rx.rssi > rssi) rssi = rx.rssi;
    if (snr === null || rx.snr > snr) snr = rx.snr;
  }
  const gateways = new Set(up.rxInfo.map((r) => r.gatewayId)).size;
  return { rssi, snr, spreadingFactor: up.txInfo?.modulation?.lora?.spreadingFactor ?? null, gateways };
}
