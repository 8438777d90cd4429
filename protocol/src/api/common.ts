import { z } from 'zod';

import { ROLES } from './names';

export const roleSchema = z.enum(ROLES);

/** Every refusal of the API: a code a program can switch on and a message a person can read. */
export const errorAnswerSchema = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorAnswer = z.infer<typeof errorAnswerSchema>;

/** A route that answers with no body (204). */
export const noAnswer = z.undefined();

/** Epoch ms in a query string. */
export const epochQuery = z.coerce.number().int().nonnegative();
/** A non-JSON answer (CSV): the document names its media type. */
export const textAnswer = z.string();
/** A file's bytes (with `produces`). */
export const fileAnswer = z.string().meta({ format: 'binary' });
/** `GET /api/openapi.json`: an OpenAPI 3.1 document, generated from these schemas. */
export const openApiAnswerSchema = z.object({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }).loose();
