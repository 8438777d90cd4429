import { commandSchema, type Command, type CommandResult } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { CommandError } from './devices/types';
import type { FieldSide } from './field';

export interface CommandContext {
  gatewayId: string;
  field(): FieldSide;
  reload(): Promise<{ devices: number }>;
  /** Changes a device's poll interval now and for good (kept across restarts). */
  setPollInterval(device: string, intervalMs: number): void;
  now(): number;
  log: Logger;
}

/**
 * Parses and runs one command from the centre. Whatever arrives (not JSON, unknown type, unknown
 * device, a write to a read-only register, a device that does not answer), the answer is a result with
 * ok:false and a reason, never an exception: a bad command must not stop the gateway.
 */
export async function runCommand(payload: Buffer, ctx: CommandContext): Promise<CommandResult> {
  const base = { gateway: ctx.gatewayId };
  let data: unknown;
  try {
    data = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ...base, id: '', ok: false, ts: ctx.now(), error: 'command is not valid JSON' };
  }
  const rawId =
    typeof data === 'object' && data !== null && typeof (data as { id?: unknown }).id === 'string'
      ? String((data as { id: string }).id).slice(0, 64)
      : '';
  const parsed = commandSchema.safeParse(data);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ...base, id: rawId, ok: false, ts: ctx.now(), error: `invalid command: ${why}`, code: 'invalid_command' };
  }
  const cmd: Command = parsed.data;
  ctx.log.info({ cmd }, 'command');
  try {
    const result = await execute(cmd, ctx);
    return { ...base, id: cmd.id, ok: true, ts: ctx.now(), ...(result === undefined ? {} : { data: result }) };
  } catch (err) {
    const known = err instanceof CommandError;
    if (!known) ctx.log.warn({ err: (err as Error).message, cmd }, 'command failed');
    return {
      ...base,
      id: cmd.id,
      ok: false,
      ts: ctx.now(),
      error: (err as Error).message,
      ...(known && err.code ? { code: err.code } : {}),
      ...(known && err.data !== undefined ? { data: err.data } : {}),
    };
  }
}

async function execute(cmd: Command, ctx: CommandContext): Promise<unknown> {
  switch (cmd.type) {
    case 'read_now': {
      // The answer is what the devices did: one that did not answer fails the command, naming it.
      const outcomes = await ctx.field().readNow(cmd.device);
      const failed = outcomes.flatMap(({ device, outcome }) => (outcome.ok ? [] : [{ device, error: outcome.message }]));
      const read = outcomes.filter((o) => o.outcome.ok).map((o) => o.device);
      if (failed.length)
        throw new CommandError(`no answer from ${failed.map((f) => `${f.device} (${f.error})`).join(', ')}`, 'device_no_answer', {
          read,
          failed,
        });
      return { read };
    }
    case 'set_poll_interval':
      ctx.setPollInterval(cmd.device, cmd.intervalMs);
      return { device: cmd.device, intervalMs: cmd.intervalMs };
    case 'write_register': {
      const w = await ctx.field().write(cmd.device, cmd.field, cmd.value);
      return { device: cmd.device, field: cmd.field, value: cmd.value, ...w };
    }
    case 'reload_config':
      return ctx.reload();
  }
}
