import { z } from 'zod';
import { roleSchema } from './common';

export const userSchema = z.object({ username: z.string(), role: roleSchema, displayName: z.string() });
export type User = z.infer<typeof userSchema>;

export const loginBodySchema = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
export const kioskBodySchema = z.object({ token: z.string().min(1).max(512) });
export const passwordBodySchema = z.object({ currentPassword: z.string().min(1).max(1024), newPassword: z.string().max(1024) }).strict();

/** A session as sign-in and `GET /api/auth/me` answer it: the CSRF token goes in x-csrf-token. */
export const sessionAnswerSchema = z.object({
  user: userSchema,
  csrfToken: z.string(),
  /** A wall screen's token session (no password to change). */
  kiosk: z.boolean().optional(),
});
export type Session = z.infer<typeof sessionAnswerSchema>;

export const passwordAnswerSchema = z.object({ sessionsEnded: z.number().int().nonnegative() });
