import type { CommandStatus } from '@tamky/protocol';
import { api } from './client';
import type { CommandResult } from './types';

export type CommandBody =
  | { type: 'read_now'; device?: string }
  | { type: 'reload_config' }
  | { type: 'write_register'; device: string; field: string; value: number }
  | { type: 'set_poll_interval'; device: string; intervalMs: number };

/** What the centre knows of a command: the gateway's answer, or that it is still waiting, or gave up at `timeoutMs`. */
export interface CommandAnswer {
  status: CommandStatus;
  result: CommandResult | null;
  timeoutMs: number;
}

export function sendCommand(gateway: string, body: CommandBody): Promise<{ id: string; timeoutMs: number }> {
  return api.post<{ id: string; timeoutMs: number }>(`/api/gateways/${encodeURIComponent(gateway)}/commands`, body);
}

/** Polls /api/commands/:id until the server says answered or timed out (its timeout, stated in the answer). */
export async function waitForAnswer(id: string, everyMs = 1000): Promise<CommandAnswer> {
  for (;;) {
    const answer = await api.get<CommandAnswer>(`/api/commands/${encodeURIComponent(id)}`);
    if (answer.status !== 'pending') return answer;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
