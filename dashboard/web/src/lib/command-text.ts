import type { CommandAnswer } from '../api/commands';
import type { I18n } from '../i18n/i18n';

/** Said while waiting: sent, and how long the centre waits for the gateway before saying it did not answer. */
export function commandPendingText(i18n: Pick<I18n, 't' | 'duration'>, timeoutMs: number): string {
  return i18n.t('wallx.cmdPending', { max: i18n.duration(timeoutMs) });
}

/** What the device did, in the reader's language; the gateway's technical detail only when no code explains it. */
export function commandOutcomeText(
  i18n: Pick<I18n, 't' | 'duration' | 'num'>,
  answer: CommandAnswer,
  deviceName: (id: string) => string = (id) => id,
): string {
  const { t } = i18n;
  if (answer.status === 'timeout') return t('wallx.cmdTimeout', { max: i18n.duration(answer.timeoutMs) });
  if (answer.status === 'pending') return commandPendingText(i18n, answer.timeoutMs);
  const r = answer.result!;
  const data = (r.data ?? {}) as { read?: string[]; failed?: Array<{ device: string }> };
  if (r.ok) return data.read ? t('wallx.cmdRead', { n: i18n.num(data.read.length, 0) }) : t('gateways.commandOk');
  switch (r.code) {
    case 'device_no_answer':
      return t('wallx.cmdNoAnswer', { devices: (data.failed ?? []).map((f) => deviceName(f.device)).join(', ') });
    case 'unknown_device':
    case 'not_writable':
    case 'out_of_range':
    case 'invalid_command':
      return t(`wallx.cmdErr.${r.code}`);
    default:
      return t('gateways.commandFailed', { error: r.error ?? '?' });
  }
}

/** Several commands sent together (a lighting group): done only when all are; otherwise the first that was not. */
export function commandsOutcomeText(
  i18n: Pick<I18n, 't' | 'duration' | 'num'>,
  answers: CommandAnswer[],
  deviceName?: (id: string) => string,
): string {
  const bad = answers.find((a) => a.status !== 'ok');
  return bad ? commandOutcomeText(i18n, bad, deviceName) : i18n.t('gateways.commandOk');
}
