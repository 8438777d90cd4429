import { z } from 'zod';
import { SEVERITIES } from '../alarms';
import { NAME_HINT, NAME_PATTERN } from '../ids';
import { CHANNELS } from './names';

// The part of the notification policy admins edit in the dashboard (recipients, on-call groups, escalation
// routes): the policy file (dashboard/server/src/notify/policy.ts) and `/api/admin/recipients` share it.

/** A local clock time, "24:00" allowed as the end of a day. */
export const hhmmSchema = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM (24 h)');
const channel = z.enum(CHANNELS);

export const recipientSchema = z
  .object({
    id: z.string().regex(NAME_PATTERN, NAME_HINT),
    name: z.string().min(1),
    phone: z.string().optional(),
    email: z.string().email().optional(),
    webhookUrl: z.string().url().optional(),
    /** Zalo user id as the OA webhook reports it, so a Zalo reply can be tied to this person. */
    zaloUserId: z.string().optional(),
    /** Fallback chain: the next channel is tried when one gives up (Zalo −118, retries exhausted…). */
    channels: z.array(channel).min(1).default(['zalo', 'sms']),
    locale: z.enum(['vi', 'en']).optional(),
  })
  .strict();

export type Recipient = z.infer<typeof recipientSchema>;

const shiftSchema = z
  .object({
    recipients: z.array(z.string()).min(1),
    /** ISO weekdays 1 (Mon) … 7 (Sun), local time; absent = every day. */
    days: z.array(z.number().int().min(1).max(7)).optional(),
    from: hhmmSchema.default('00:00'),
    to: hhmmSchema.default('24:00'),
  })
  .strict();

export const groupSchema = z
  .object({
    id: z.string().min(1),
    members: z.array(z.string()).default([]),
    /** On-call rotation: the first matching shift's recipients; members when none matches. */
    onCall: z.array(shiftSchema).default([]),
  })
  .strict();

const stepSchema = z
  .object({
    /** Minutes after the alarm opened at which this step fires if the alarm is still unacknowledged. */
    afterMin: z.number().nonnegative().default(0),
    /** Recipient ids or `group:<id>`. */
    to: z.array(z.string()).min(1),
    /** Restrict the recipients' chains to these channels for this step (e.g. [sms]). */
    channels: z.array(channel).optional(),
  })
  .strict();

export const escalationRouteSchema = z
  .object({
    id: z.string().min(1),
    match: z
      .object({
        wards: z.array(z.string()).optional(),
        categories: z.array(z.string()).optional(),
        severities: z.array(z.enum(SEVERITIES)).optional(),
        rules: z.array(z.string()).optional(),
      })
      .strict()
      .default({}),
    steps: z.array(stepSchema).min(1),
    /** Tell step-0 recipients when the alarm clears. */
    notifyClear: z.boolean().default(false),
  })
  .strict();

/** `GET /api/admin/recipients` and the answer of its PUT: the current version as stored. */
export const directoryAnswerSchema = z.object({
  /** False while no notification policy is loaded (alarms module without `notify`): nothing to edit then. */
  configured: z.boolean(),
  version: z.number(),
  recipients: z.array(recipientSchema),
  groups: z.array(groupSchema),
  routes: z.array(escalationRouteSchema),
  /** Channels with a provider configured in the policy file (others are refused for recipients). */
  channels: z.array(channel),
  updatedBy: z.string().nullable(),
  updatedAt: z.number().nullable(),
});
export type DirectoryAnswer = z.infer<typeof directoryAnswerSchema>;

/** Recipients, groups and routes themselves are checked against the whole policy by the server (issues name the field). */
export const directoryBodySchema = z
  .object({
    baseVersion: z.number().int().nonnegative().optional(),
    recipients: z.unknown(),
    groups: z.unknown().optional(),
    routes: z.unknown().optional(),
  })
  .strict();
