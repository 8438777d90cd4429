import { z } from 'zod';
import { releaseArtifactSchema } from '../fleet';

/** Releases the dashboard can roll out (from its releases folder). */
export const fleetReleasesAnswerSchema = z.object({ releases: z.array(releaseArtifactSchema) });
export type FleetReleasesAnswer = z.infer<typeof fleetReleasesAnswerSchema>;

/** Start a staged rollout: the gateways of `firstWard` first, the rest once all of them report the new version. */
export const rolloutBodySchema = z.object({ version: z.string().min(1), firstWard: z.string().min(1) }).strict();

/** `halted`: a gateway rolled the version back (an admin resumes or cancels it); `cancelled`: an admin stopped it. */
export const ROLLOUT_STAGES = ['first_ward', 'rest', 'done', 'halted', 'cancelled'] as const;

/** Cancel or resume a rollout; the note (what was fixed, why it stops) goes to the audit log. */
export const rolloutActionBodySchema = z.object({ note: z.string().max(500).optional() }).strict();
export const rolloutSchema = z.object({
  id: z.number().int(),
  version: z.string(),
  firstWard: z.string(),
  stage: z.enum(ROLLOUT_STAGES),
  /** Why it halted (a gateway rolled the version back) or was cancelled, or null. */
  reason: z.string().nullable(),
  /** When an admin last resumed it after a halt: the rollbacks gateways reported then no longer halt it. */
  resumedAt: z.number().int().nullable(),
  createdBy: z.string(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
  /** Each gateway announced to so far and the version it reports. */
  gateways: z.array(z.object({ id: z.string(), ward: z.string(), version: z.string().nullable(), rolledBack: z.boolean() })),
  /** What an admin may do with it now. */
  canCancel: z.boolean(),
  canResume: z.boolean(),
});
export type Rollout = z.infer<typeof rolloutSchema>;
export const rolloutsAnswerSchema = z.object({ rollouts: z.array(rolloutSchema) });
export type RolloutsAnswer = z.infer<typeof rolloutsAnswerSchema>;
