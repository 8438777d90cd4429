import { z } from 'zod';
import { SEVERITIES } from '../alarms';
import { epochQuery, roleSchema } from './common';
import { ALARM_STATES, SHELF_TARGETS } from './names';

/** An alarm as the API and the live feed carry it: ids travel as strings (URL segments in the web app). */
export const alarmSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  sourceId: z.string(),
  state: z.enum(ALARM_STATES),
  severity: z.enum(SEVERITIES),
  category: z.string(),
  ward: z.string().nullable(),
  kind: z.string().nullable(),
  device: z.string().nullable(),
  gateway: z.string().nullable(),
  field: z.string().nullable(),
  value: z.number().nullable(),
  limit: z.number().nullable(),
  unit: z.string().nullable(),
  message: z.object({ vi: z.string(), en: z.string() }),
  /** When the condition began (the detector's `since`). */
  since: z.number(),
  firstSeen: z.number(),
  lastSeen: z.number(),
  count: z.number(),
  assignee: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  acknowledgedAt: z.number().nullable(),
  clearedAt: z.number().nullable(),
  clearedBy: z.string().nullable(),
  /** Server time the alarm was opened; escalation counts from it. */
  openedAt: z.number(),
  /** The gateway alarm that explains this one (shown as its child). */
  parentId: z.string().nullable(),
  /** The first alarm of the burst of one rule this one belongs to. */
  groupId: z.string().nullable(),
  /** Times the condition came back within the reopen window. */
  reopenCount: z.number(),
  /** The maintenance shelf silencing its notifications. */
  shelfId: z.string().nullable(),
});
export type Alarm = z.infer<typeof alarmSchema>;

export const alarmAuditEntrySchema = z.object({
  ts: z.number(),
  user: z.string(),
  action: z.string(),
  /** A line a person can read; `data` keeps the structured detail. */
  detail: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type AlarmAuditEntry = z.infer<typeof alarmAuditEntrySchema>;

export const alarmNotificationSchema = z.object({
  id: z.string(),
  recipient: z.string(),
  channel: z.string(),
  state: z.string(),
  ts: z.number(),
  error: z.string().nullable(),
  step: z.number(),
  attempts: z.number(),
  providerId: z.string().nullable(),
  /** The text handed to the provider (null before the first send attempt). */
  text: z.string().nullable(),
  alarmId: z.number(),
  address: z.string(),
});
export type AlarmNotification = z.infer<typeof alarmNotificationSchema>;

export const alarmDetailSchema = z.object({
  alarm: alarmSchema,
  audit: z.array(alarmAuditEntrySchema),
  notifications: z.array(alarmNotificationSchema),
  children: z.array(alarmSchema),
});
export type AlarmDetail = z.infer<typeof alarmDetailSchema>;

export const alarmAnswerSchema = z.object({ alarm: alarmSchema });
export const alarmsAnswerSchema = z.object({ alarms: z.array(alarmSchema) });

/** `GET /api/alarms`: states and severities comma-separated; state "open" is active + acknowledged. */
export const alarmListQuerySchema = z.object({
  state: z.string().optional(),
  severity: z.string().optional(),
  ward: z.string().optional(),
  kind: z.string().optional(),
  /** A username, or "none" for unassigned alarms. */
  assignee: z.string().optional(),
  q: z.string().max(200).optional(),
  from: epochQuery.optional(),
  to: epochQuery.optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
  before: z.coerce.number().int().positive().optional(),
});
export const alarmCsvQuerySchema = alarmListQuerySchema.omit({ before: true }).extend({ lang: z.enum(['vi', 'en']).optional() });

export const alarmCommentBodySchema = z.object({ comment: z.string().max(2000).optional() });
export const alarmAssignBodySchema = z.object({ assignee: z.string().min(1).max(64) });
export const alarmNoteBodySchema = z.object({ text: z.string().min(1).max(2000) });
export const alarmBulkBodySchema = z.object({
  ids: z
    .array(z.union([z.string(), z.number()]))
    .min(1)
    .max(1000),
  action: z.enum(['ack', 'assign']),
  assignee: z.string().min(1).max(64).optional(),
  comment: z.string().max(2000).optional(),
});
export const alarmBulkAnswerSchema = z.object({
  alarms: z.array(alarmSchema),
  failed: z.array(z.object({ id: z.string(), error: z.enum(['not_found', 'conflict']) })),
});

export const assigneeSchema = z.object({ username: z.string(), displayName: z.string(), role: roleSchema });
export type Assignee = z.infer<typeof assigneeSchema>;
export const assigneesAnswerSchema = z.object({ users: z.array(assigneeSchema) });

/** Maintenance mode for a device, gateway or ward until `until`: its alarms are recorded but notify nobody. */
export const shelfSchema = z.object({
  id: z.number(),
  targetType: z.enum(SHELF_TARGETS),
  targetId: z.string(),
  reason: z.string(),
  user: z.string(),
  createdAt: z.number(),
  until: z.number(),
  endedAt: z.number().nullable(),
  endedBy: z.string().nullable(),
});
export type Shelf = z.infer<typeof shelfSchema>;
export const shelvesAnswerSchema = z.object({ shelves: z.array(shelfSchema) });
export const shelfAnswerSchema = z.object({ shelf: shelfSchema });
export const shelfBodySchema = z.object({
  targetType: z.enum(SHELF_TARGETS),
  targetId: z.string().min(1).max(128),
  reason: z.string().min(1).max(500),
  /** How long maintenance lasts; shelves always expire. */
  minutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60),
});

export const alarmHealthQuerySchema = z.object({
  from: z.coerce.number().int().nonnegative(),
  to: z.coerce.number().int().positive(),
  positions: z.coerce.number().int().min(1).max(100).optional(),
});
const PRIORITIES = ['high', 'medium', 'low'] as const;
const ranked = z.array(z.object({ id: z.string(), count: z.number(), share: z.number() }));
/** Alarm-system health over [from, to) (ISA-18.2 / EEMUA 191). */
export const alarmHealthSchema = z.object({
  from: z.number(),
  to: z.number(),
  settings: z.object({
    positions: z.number(),
    floodPer10Min: z.number(),
    chatterCount: z.number(),
    chatterWindowS: z.number(),
    fleetingS: z.number(),
    staleHours: z.number(),
    priorities: z.record(z.enum(SEVERITIES), z.enum(PRIORITIES)),
    priorityGuide: z.record(z.enum(PRIORITIES), z.number()),
  }),
  total: z.number(),
  suppressed: z.object({ gateway: z.number(), group: z.number(), shelved: z.number() }),
  perPosition: z.object({ per10Min: z.number(), perDay: z.number() }),
  periods: z.number(),
  floodPeriods: z.number(),
  floodShare: z.number(),
  peak: z.object({ count: z.number(), start: z.number() }),
  badActors: z.object({ rules: ranked, sources: ranked }),
  chattering: z.array(z.object({ ruleId: z.string(), sourceId: z.string(), count: z.number() })),
  fleeting: z.number(),
  stale: z.array(z.object({ id: z.string(), ruleId: z.string(), sourceId: z.string(), openedAt: z.number() })),
  priorityMix: z.array(z.object({ priority: z.enum(PRIORITIES), count: z.number(), share: z.number(), guide: z.number() })),
});
export type AlarmHealth = z.infer<typeof alarmHealthSchema>;

export const notificationsPageQuerySchema = z.object({ limit: z.coerce.number().optional(), offset: z.coerce.number().optional() });
/** Every notification, newest first (the admins' sent-messages page). */
export const notificationsPageSchema = z.object({ configured: z.boolean(), total: z.number(), items: z.array(alarmNotificationSchema) });

/** A provider's callback (eSMS receipt, SMS reply, Zalo webhook): its own documented shape, checked by the notifier. */
export const providerCallbackBodySchema = z.unknown();
export const providerCallbackAnswerSchema = z.unknown();

/** `GET /api/alarms/count`: alarms waiting for someone (active, not explained by a gateway alarm) and open ones, in the caller's wards. */
export const alarmCountAnswerSchema = z.object({ unacknowledged: z.number().int(), open: z.number().int() });
export type AlarmCount = z.infer<typeof alarmCountAnswerSchema>;

/**
 * `GET /api/alarms/rows`: the alarm desk's first `rows` lines over every alarm the filters match (grouped as
 * `deskRows` groups them); `exclude` leaves out one alarm (the one a deep link shows on its own).
 */
export const alarmRowsQuerySchema = alarmListQuerySchema.omit({ limit: true, before: true }).extend({
  rows: z.coerce.number().int().min(1).max(1000).optional(),
  exclude: z.string().max(20).optional(),
});
/** One desk line: a lead alarm, the first of its burst's other members and of its children, and every id it stands for. */
export const alarmRowSchema = z.object({
  key: z.string(),
  lead: alarmSchema,
  /** The worst first, at most `ALARM_ROW_RELATED` of each; `memberCount` / `childCount` say how many in all. */
  members: z.array(alarmSchema),
  children: z.array(alarmSchema),
  memberCount: z.number().int(),
  childCount: z.number().int(),
  /** Every alarm the line stands for (a bulk action on the line acts on all of them). */
  ids: z.array(z.string()),
});
/** `total`: lines over every match; `alarms`: alarms matched. */
export const alarmRowsAnswerSchema = z.object({ rows: z.array(alarmRowSchema), total: z.number().int(), alarms: z.number().int() });
export type AlarmRows = z.infer<typeof alarmRowsAnswerSchema>;
