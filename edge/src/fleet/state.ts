import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { fleetRollbackSchema, signedConfigSchema } from '@tamky/protocol';

/**
 * What the gateway keeps about its configuration across restarts, in one small JSON file beside the outbox:
 * the pushed configuration it runs and the one before (to roll back to), whether the current one is still on
 * trial (a restart during the trial rolls it back), poll intervals set by command, and the last refusal.
 */
export const fleetStateSchema = z.object({
  current: signedConfigSchema.nullable().default(null),
  previous: signedConfigSchema.nullable().default(null),
  /** The current config has not proved healthy yet. */
  trial: z.boolean().default(false),
  /** set_poll_interval by device, on top of the pushed or file configuration (a new pushed config clears them). */
  pollIntervals: z.record(z.string(), z.number().int().positive()).default({}),
  /** The last config version refused or rolled back: its retained copy arriving again is not retried. */
  refusedConfig: z.object({ version: z.number().int(), hash: z.string() }).nullable().default(null),
  lastRollback: fleetRollbackSchema.nullable().default(null),
});
export type FleetState = z.infer<typeof fleetStateSchema>;

export const stateFileOf = (outboxPath: string) => `${outboxPath}.state.json`;

export function readFleetState(file: string): FleetState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fleetStateSchema.parse({});
    throw err;
  }
  const parsed = fleetStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file}: not a gateway state file: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** Written to a temporary file, flushed, then renamed over the old one: a crash leaves the old or the new, never half. */
export function writeFleetState(file: string, state: FleetState): void {
  writeFileDurably(file, `${JSON.stringify(state, null, 2)}\n`);
}

export function writeFileDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
