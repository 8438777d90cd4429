import { api } from './client';
import type { CommandResult } from './types';

export type CommandBody =
  | { type: 'read_now'; device?: string }
  | { type: 'reload_config' }
  | { type: 'write_register'; device: string; field: string; value: number }
  | { type: 'set_poll_interval'; device: string; intervalMs: number };

export function sendCommand(gateway: string, body: CommandBody): Promise<{ id: string }> {
  return api.post<{ id: string }>(`/api/gateways/${encodeURIComponent(gateway)}/commands`, body);
}

/** Polls /api/commands/:id until the gateway answered or the wait ran out (null: no answer yet). */
export async function waitForResult(id: string, timeoutMs = 20_000, everyMs = 1000): Promise<CommandResult | null> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const { result } = await api.get<{ result: CommandResult | null }>(`/api/commands/${encodeURIComponent(id)}`);
    if (result) return result;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return null;
}
