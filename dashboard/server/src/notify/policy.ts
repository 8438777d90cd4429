import { z } from 'zod';
import {
  CHANNELS,
  escalationRouteSchema,
  groupSchema,
  hhmmSchema,
  localTime,
  recipientSchema,
  SEVERITIES,
  type ChannelName,
  type Severity,
} from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { validAddressOrBlock } from '../http/client-address';
import { createWebhookTargets } from './channels/webhook-target';

/**
 * Who gets what (config/notify/policy.yaml): recipients with their channel chain, groups with on-call
 * rotations, routes matching alarms by ward/category/severity to escalation steps, quiet hours, grouping,
 * retry and rate limits, and the providers behind each channel. Secrets come from the environment
 * (`${ENV}` references, expanded by service-kit's loadConfigFile).
 */
const hhmm = hhmmSchema;
const channel = z.enum(CHANNELS);
const severity = z.enum(SEVERITIES);
export { CHANNELS, type ChannelName };

/** Webhook targets: https only, optionally only allow-listed hosts, never private addresses unless listed. */
const webhookProviderSchema = z
  .object({
    secret: z.string().optional(),
    timeoutMs: z.number().int().positive().default(10_000),
    /** Host names recipients' webhookUrl may name ("hooks.example.vn", "*.example.vn"); empty: any public host. */
    allowHosts: z.array(z.string().regex(/^(\*\.)?[a-z0-9.-]+$/i, 'must be a host name or *.domain')).default([]),
    /** Plain http:// targets too (a receiver on a trusted LAN). */
    allowHttp: z.boolean().default(false),
    /** Private/loopback/link-local blocks a receiver may sit in, e.g. "10.20.0.5/32"; none by default. */
    allowNetworks: z.array(z.string().refine(validAddressOrBlock, 'must be an IP address or CIDR block')).default([]),
  })
  .strict();
const WEBHOOK_DEFAULTS = webhookProviderSchema.parse({});

const rate = z.object({ perMinute: z.number().positive() }).strict();

export const notifyPolicySchema = z
  .object({
    locale: z.enum(['vi', 'en']).default('vi'),
    /** Used in texts: "[Tam Kỳ] …". */
    senderName: z.string().default('IOC'),
    timeZone: z.string().optional(),
    recipients: z.array(recipientSchema).default([]),
    groups: z.array(groupSchema).default([]),
    routes: z.array(escalationRouteSchema).default([]),
    quietHours: z
      .object({ from: hhmm, to: hhmm, severities: z.array(severity).default(['minor', 'warning']) })
      .strict()
      .optional(),
    /** Alarms for the same recipient and channel within windowS go out as one message (critical ones at once). */
    grouping: z
      .object({
        windowS: z.number().nonnegative().default(30),
        maxAlarms: z.number().int().min(1).default(10),
        immediateSeverities: z.array(severity).default(['critical']),
      })
      .strict()
      .default({ windowS: 30, maxAlarms: 10, immediateSeverities: ['critical'] }),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).default(5),
        baseMs: z.number().int().positive().default(5000),
        maxMs: z.number().int().positive().default(300_000),
      })
      .strict()
      .default({ maxAttempts: 5, baseMs: 5000, maxMs: 300_000 }),
    rateLimits: z.partialRecord(channel, rate).default({}),
    /** Shared secret in the provider callback URLs (?token=…); empty = callbacks refused. */
    callbackToken: z
      .string()
      .refine((t) => t === '' || t.length >= 16, 'must be at least 16 characters (or empty to refuse callbacks)')
      .optional(),
    providers: z
      .object({
        zalo: z
          .object({
            sendUrl: z.string().url().default('https://business.openapi.zalo.me/message/template'),
            tokenUrl: z.string().url().default('https://oauth.zaloapp.com/v4/oa/access_token'),
            appId: z.string().min(1),
            secretKey: z.string().min(1),
            /** First refresh token (from the OA authorisation); afterwards the DB holds the current one. */
            refreshToken: z.string().min(1),
            templateId: z.string().min(1),
            /** OA secret for verifying webhook signatures. */
            oaSecretKey: z.string().optional(),
            timeoutMs: z.number().int().positive().default(10_000),
          })
          .strict()
          .optional(),
        esms: z
          .object({
            url: z.string().url().default('https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/'),
            apiKey: z.string().min(1),
            secretKey: z.string().min(1),
            brandname: z.string().min(1),
            smsType: z.string().default('2'),
            sandbox: z.boolean().default(false),
            unicode: z.boolean().default(false),
            timeoutMs: z.number().int().positive().default(10_000),
          })
          .strict()
          .optional(),
        smpp: z
          .object({
            url: z.string().min(1),
            systemId: z.string().min(1),
            password: z.string(),
            sourceAddr: z.string().min(1),
            timeoutMs: z.number().int().positive().default(10_000),
          })
          .strict()
          .optional(),
        email: z
          .object({
            host: z.string().min(1),
            port: z.number().int().positive().default(587),
            secure: z.boolean().default(false),
            user: z.string().optional(),
            password: z.string().optional(),
            from: z.string().min(1),
            timeoutMs: z.number().int().positive().default(10_000),
            /** PEM file of the CA behind the relay's certificate (certificates are always verified). */
            caFile: z.string().optional(),
          })
          .strict()
          .optional(),
        webhook: webhookProviderSchema.optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    const people = new Set(p.recipients.map((r) => r.id));
    const groups = new Set(p.groups.map((g) => g.id));
    const known = (ref: string) => (ref.startsWith('group:') ? groups.has(ref.slice(6)) : people.has(ref));
    p.groups.forEach((g, gi) => {
      g.members.forEach(
        (m, i) =>
          !people.has(m) && ctx.addIssue({ code: 'custom', path: ['groups', gi, 'members', i], message: `unknown recipient "${m}"` }),
      );
      g.onCall.forEach((s, si) =>
        s.recipients.forEach(
          (m, i) =>
            !people.has(m) &&
            ctx.addIssue({ code: 'custom', path: ['groups', gi, 'onCall', si, 'recipients', i], message: `unknown recipient "${m}"` }),
        ),
      );
    });
    p.routes.forEach((r, ri) =>
      r.steps.forEach((s, si) =>
        s.to.forEach(
          (t, i) =>
            !known(t) &&
            ctx.addIssue({ code: 'custom', path: ['routes', ri, 'steps', si, 'to', i], message: `unknown recipient or group "${t}"` }),
        ),
      ),
    );
    const webhookTargets = createWebhookTargets(p.providers.webhook ?? WEBHOOK_DEFAULTS);
    p.recipients.forEach((r, ri) => {
      const problem = r.webhookUrl === undefined ? null : webhookTargets.checkUrl(r.webhookUrl);
      if (problem) ctx.addIssue({ code: 'custom', path: ['recipients', ri, 'webhookUrl'], message: problem });
    });
    p.recipients.forEach((r, ri) =>
      r.channels.forEach((c, ci) => {
        const needs = c === 'email' ? r.email : c === 'webhook' ? r.webhookUrl : r.phone;
        if (!needs)
          ctx.addIssue({
            code: 'custom',
            path: ['recipients', ri, 'channels', ci],
            message: `channel ${c} needs ${c === 'email' ? 'email' : c === 'webhook' ? 'webhookUrl' : 'phone'}`,
          });
        const provider = c === 'sms' ? 'esms' : c;
        if (!(provider in p.providers))
          ctx.addIssue({
            code: 'custom',
            path: ['recipients', ri, 'channels', ci],
            message: `channel ${c} has no provider configured (providers.${provider})`,
          });
      }),
    );
  });

export type NotifyPolicy = z.infer<typeof notifyPolicySchema>;
export type NotifyPolicyInput = z.input<typeof notifyPolicySchema>;
export type Recipient = NotifyPolicy['recipients'][number];
export type Route = NotifyPolicy['routes'][number];

/** Loads and validates a policy file; `${ENV}` / `${ENV:-default}` references are expanded by loadConfigFile. */
export function loadNotifyPolicy(file: string): NotifyPolicy {
  return loadConfigFile(file, notifyPolicySchema);
}

export function parseNotifyPolicy(data: NotifyPolicyInput): NotifyPolicy {
  return notifyPolicySchema.parse(data);
}

const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** Local weekday (1 = Mon … 7 = Sun) and minute of day. */
export function localClock(ms: number, timeZone: string): { weekday: number; minute: number } {
  const t = localTime(ms, timeZone);
  return { weekday: t.weekday === 0 ? 7 : t.weekday, minute: t.minuteOfDay };
}

/** [from, to) in minutes of the day; windows may cross midnight. "24:00" means end of day. */
function inWindow(minute: number, from: string, to: string): boolean {
  const a = minutes(from);
  const b = to === '24:00' ? 1440 : minutes(to);
  return a <= b ? minute >= a && minute < b : minute >= a || minute < b;
}

export function routesFor(
  policy: NotifyPolicy,
  alarm: { ward: string | null; category: string; severity: Severity; ruleId: string },
): Route[] {
  return policy.routes.filter((r) => {
    const m = r.match;
    if (m.wards?.length && !(alarm.ward && m.wards.includes(alarm.ward))) return false;
    if (m.categories?.length && !m.categories.includes(alarm.category)) return false;
    if (m.severities?.length && !m.severities.includes(alarm.severity)) return false;
    if (m.rules?.length && !m.rules.includes(alarm.ruleId)) return false;
    return true;
  });
}

/** Recipients of a step at `now`: groups resolve to whoever is on call then. */
export function resolveRecipients(policy: NotifyPolicy, refs: string[], now: number, timeZone: string): Recipient[] {
  const byId = new Map(policy.recipients.map((r) => [r.id, r]));
  const ids = new Set<string>();
  const clock = localClock(now, timeZone);
  for (const ref of refs) {
    if (!ref.startsWith('group:')) {
      ids.add(ref);
      continue;
    }
    const group = policy.groups.find((g) => g.id === ref.slice(6));
    if (!group) continue;
    const shift = group.onCall.find((s) => (!s.days || s.days.includes(clock.weekday)) && inWindow(clock.minute, s.from, s.to));
    for (const id of shift ? shift.recipients : group.members) ids.add(id);
  }
  return [...ids].map((id) => byId.get(id)).filter((r): r is Recipient => r !== undefined);
}

/** When a message of this severity may go out: now, or the end of quiet hours. */
export function notBefore(policy: NotifyPolicy, severity: Severity, now: number, timeZone: string): number {
  const q = policy.quietHours;
  if (!q || !q.severities.includes(severity)) return now;
  const { minute } = localClock(now, timeZone);
  if (!inWindow(minute, q.from, q.to)) return now;
  const end = minutes(q.to);
  const wait = (end - minute + 1440) % 1440;
  return now + wait * 60_000 - (now % 60_000);
}
