import { api } from './client';
import type { CommandAnswer, CommandBody } from './types';

export type { CommandAnswer, CommandBody };

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
