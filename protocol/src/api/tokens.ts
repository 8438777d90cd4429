import { z } from 'zod';
import { TOKEN_SCOPES } from './names';

/** An API token as admins see it (never its secret). */
export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(TOKEN_SCOPES)),
  /** Wards the token reads; empty = the whole city. */
  wards: z.array(z.string()),
  createdBy: z.string(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  uses: z.number(),
  /** Requests per minute. */
  rateLimit: z.number(),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;
export const tokensAnswerSchema = z.object({ tokens: z.array(apiTokenSchema) });
export const tokenCreateBodySchema = z.object({
  name: z.string().trim().min(1).max(80),
  scopes: z.array(z.enum(TOKEN_SCOPES)).min(1),
  wards: z.array(z.string().min(1)).default([]),
  /** Every token expires: a forgotten integration must not read the city forever. */
  expiresInDays: z.number().int().min(1).max(3650).default(365),
  rateLimitPerMinute: z.number().int().min(1).max(10_000).default(600),
});
/** The token text is answered once, here. */
export const tokenCreatedSchema = z.object({ token: apiTokenSchema, text: z.string() });
export const tokenRevokedSchema = z.object({ token: apiTokenSchema });
