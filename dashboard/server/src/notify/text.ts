import type { Alarm } from '../alarms/model';

const SEVERITY_TEXT = {
  vi: { critical: 'KHẨN CẤP', major: 'NGHIÊM TRỌNG', minor: 'CẢNH BÁO', warning: 'LƯU Ý' },
  en: { critical: 'CRITICAL', major: 'MAJOR', minor: 'MINOR', warning: 'WARNING' },
} as const;

export const alarmLink = (publicUrl: string, id: number) => `${publicUrl.replace(/\/+$/, '')}/alarms/${id}`;

/**
 * The human text of a notification: Vietnamese by default; place, value and limit come from the
 * detector's message; a short link and the reply instruction let the recipient act from the phone.
 */
export function notificationText(
  alarms: Alarm[],
  opts: { locale: 'vi' | 'en'; sender: string; publicUrl: string; kind: 'alarm' | 'cleared'; replyable: boolean },
): { subject: string; text: string } {
  const { locale, sender } = opts;
  const first = alarms[0]!;
  const sev = SEVERITY_TEXT[locale][first.severity];
  if (opts.kind === 'cleared') {
    const subject = locale === 'vi' ? `[${sender}] Đã hết: #${first.id}` : `[${sender}] Cleared: #${first.id}`;
    return { subject, text: `${subject} ${first.message[locale]}` };
  }
  if (alarms.length === 1) {
    const subject = `[${sender}] ${sev} #${first.id}`;
    const reply = opts.replyable
      ? locale === 'vi'
        ? ` Trả lời "OK ${first.id}" để xác nhận.`
        : ` Reply "OK ${first.id}" to acknowledge.`
      : '';
    return {
      subject,
      text: `${subject}: ${first.message[locale]}. ${locale === 'vi' ? 'Xem' : 'View'}: ${alarmLink(opts.publicUrl, first.id)}${reply}`,
    };
  }
  const subject = locale === 'vi' ? `[${sender}] ${alarms.length} cảnh báo mới` : `[${sender}] ${alarms.length} new alarms`;
  const lines = alarms.map((a) => `#${a.id} ${SEVERITY_TEXT[locale][a.severity]}: ${a.message[locale]}`);
  const reply = opts.replyable ? (locale === 'vi' ? ` Trả lời "OK <số>" để xác nhận.` : ` Reply "OK <number>" to acknowledge.`) : '';
  return {
    subject,
    text: `${subject}: ${lines.join('; ')}. ${locale === 'vi' ? 'Xem' : 'View'}: ${opts.publicUrl.replace(/\/+$/, '')}/alarms${reply}`,
  };
}

/** SMS without diacritics (GSM 7-bit: one segment holds 160 characters instead of 70) — the Vietnamese norm. */
export function foldVietnamese(text: string): string {
  return text
    .replace(/[đ]/g, 'd')
    .replace(/[Đ]/g, 'D')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e\n]/g, '');
}

/** "OK 123", "ok #123", "XN 123" (xác nhận), "ACK 123" → 123. */
export function parseAckReply(text: string): number | undefined {
  const m = /^\s*(?:ok|ack|xn|xac nhan|xác nhận)\s*#?\s*(\d{1,12})\b/i.exec(text);
  return m ? Number(m[1]) : undefined;
}
