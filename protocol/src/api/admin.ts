import { z } from 'zod';
import { cityModelSchema } from '../city';
import { NAME_HINT, NAME_PATTERN } from '../ids';
import { epochQuery, roleSchema } from './common';

/** The alarm rules as stored (versioned); each rule is checked with the detector's schema (`parseRuleSet`). */
export const rulesAnswerSchema = z.object({
  version: z.number(),
  rules: z.array(z.unknown()),
  updatedBy: z.string().nullable(),
  updatedAt: z.number().nullable(),
});
export type RulesAnswer = z.infer<typeof rulesAnswerSchema>;
export const rulesBodySchema = z.object({
  /** The version the editor started from: a stale editor gets 409 instead of silently overwriting. */
  baseVersion: z.number().int().nonnegative().optional(),
  rules: z.array(z.record(z.string(), z.unknown())).max(10_000),
});
export const rulesValidateBodySchema = rulesBodySchema.pick({ rules: true });
export const rulesValidateAnswerSchema = z.object({ ok: z.literal(true), count: z.number() });

export const auditQuerySchema = z.object({
  from: epochQuery.optional(),
  to: epochQuery.optional(),
  user: z.string().min(1).max(64).optional(),
  /** An action or a prefix ending in "." (e.g. "alarm."). */
  action: z.string().min(1).max(64).optional(),
  /** Words in the detail. */
  q: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(200),
  offset: z.coerce.number().int().min(0).default(0),
});
export const auditEntrySchema = z.object({
  id: z.number(),
  ts: z.number(),
  user: z.string(),
  action: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditLogEntry = z.infer<typeof auditEntrySchema>;
export const auditAnswerSchema = z.object({ entries: z.array(auditEntrySchema), total: z.number() });

/** Usernames as accounts are created with them (config seed users and the admin screen). */
export const usernameSchema = z.string().regex(NAME_PATTERN, NAME_HINT);
const displayName = z.string().trim().min(1).max(120);
// Length policy is checked by the user store (a clear "weak_password" error); the cap only bounds scrypt input.
const password = z.string().max(1024);
/** What the admin screens see of an account: never the hash. */
export const accountSchema = z.object({
  username: z.string(),
  displayName: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  createdAt: z.number(),
  /** Wards the account is limited to; empty: the whole city. */
  wards: z.array(z.string()),
  /** Last successful login, from the audit log (null: never since the log began). */
  lastLogin: z.number().nullable(),
});
export type Account = z.infer<typeof accountSchema>;
export const accountsAnswerSchema = z.object({ users: z.array(accountSchema) });
/** Ward ids the account is limited to; [] = the whole city. */
const wards = z.array(z.string().min(1).max(64)).max(200);
export const accountCreateBodySchema = z
  .object({ username: usernameSchema, displayName, role: roleSchema, password, wards: wards.optional() })
  .strict();
export const accountCreatedSchema = z.object({ user: accountSchema });
export const accountPatchBodySchema = z
  .object({
    displayName: displayName.optional(),
    role: roleSchema.optional(),
    disabled: z.boolean().optional(),
    password: password.optional(),
    wards: wards.optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');
export const accountPatchedSchema = z.object({ user: accountSchema, sessionsEnded: z.number() });

/** The device registry (city model) with its version. */
export const registryAnswerSchema = z.object({
  version: z.number(),
  city: cityModelSchema,
  updatedBy: z.string(),
  updatedAt: z.number(),
});
export type RegistryAnswer = z.infer<typeof registryAnswerSchema>;
const baseVersion = z.number().int().nonnegative();
// The city and device themselves are checked by the protocol schema in the store (issues name the field).
export const registryBodySchema = z.object({ baseVersion: baseVersion.optional(), city: z.record(z.string(), z.unknown()) }).strict();
export const registryDeviceBodySchema = z
  .object({ baseVersion: baseVersion.optional(), device: z.record(z.string(), z.unknown()) })
  .strict();
export const registryDeleteQuerySchema = z.object({ baseVersion: z.coerce.number().int().nonnegative().optional() });
