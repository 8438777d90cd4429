import { formatNumberIn, type AlarmRule, type TextLang } from '@tamky/protocol';

type Texts = { vi: string; en: string };
/** A placeholder's value: text, a number (written per language: "4,2" / "4.2"), or text per language. */
export type MessageVar = string | number | Texts;

/** Default texts per rule type; a rule's own `message` overrides them. Place first, then value and limit. */
const DEFAULTS: Record<AlarmRule['type'], Texts> = {
  threshold: {
    vi: '{place}: {fieldLabelVi} {value} {unit} vượt ngưỡng {limit} {unit}',
    en: '{place}: {fieldLabelEn} {value} {unit} beyond limit {limit} {unit}',
  },
  // value is the change itself (compared with the rule's change limit), current the level it reached.
  rate_of_change: {
    vi: '{place}: {fieldLabelVi} {direction} {value} {unit} trong {window}, hiện {current} {unit}',
    en: '{place}: {fieldLabelEn} {direction} {value} {unit} in {window}, now {current} {unit}',
  },
  no_data: {
    vi: '{place}: mất kết nối từ {sinceTime}{silentFor}',
    en: '{place}: silent since {sinceTime}{silentFor}',
  },
  vn_aqi_level: {
    vi: '{place}: VN_AQI {value} — mức {levelVi} (ngưỡng {limit})',
    en: '{place}: VN_AQI {value} — {levelEn} (limit {limit})',
  },
  noise_limit: {
    vi: '{place}: độ ồn {value} dB(A) vượt giới hạn QCVN 26 {limit} dB(A) (khu vực {zoneVi}, {periodVi})',
    en: '{place}: noise {value} dB(A) above the QCVN 26 limit {limit} dB(A) ({zone} zone, {period})',
  },
  water_level: {
    vi: '{place}: mực nước {value} m — BÁO ĐỘNG {stage} (mức báo động {limit} m)',
    en: '{place}: water level {value} m — ALARM LEVEL {stage} (alarm level {limit} m)',
  },
  lamp_failure: {
    vi: '{place}: hỏng đèn số {lamps}',
    en: '{place}: lamp failure on lamp(s) {lamps}',
  },
  day_burner: {
    vi: '{place}: {value} đèn sáng ban ngày',
    en: '{place}: {value} lamp(s) on in daylight',
  },
  night_outage: {
    vi: '{place}: {value} đèn tắt ban đêm (đèn số {lamps})',
    en: '{place}: {value} lamp(s) dark at night (lamps {lamps})',
  },
  power_deviation: {
    vi: '{place}: công suất {value} W lệch xa mức định mức {limit} W',
    en: '{place}: power {value} W far from expected {limit} W',
  },
  gateway_outbox: {
    vi: 'Gateway {gateway}: hàng đợi gửi tăng, {value} bản tin chưa gửi',
    en: 'Gateway {gateway}: outbox growing, {value} readings queued',
  },
  gateway_disk: {
    vi: 'Gateway {gateway}: ổ đĩa đã dùng {value}% (ngưỡng {limit}%), còn trống {freeMb} MB',
    en: 'Gateway {gateway}: disk {value}% used (limit {limit}%), {freeMb} MB free',
  },
  gateway_clock: {
    vi: 'Gateway {gateway}: đồng hồ lệch {value} giây so với trung tâm (ngưỡng {limit} giây)',
    en: 'Gateway {gateway}: clock off by {value} s from the centre (limit {limit} s)',
  },
  device_crc_errors: {
    vi: '{place}: lỗi CRC truyền thông tăng {value} lần',
    en: '{place}: {value} new communication CRC errors',
  },
};

function fill(template: string, lang: TextLang, vars: Record<string, MessageVar | undefined>): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = vars[name];
    if (v === undefined) return m;
    if (typeof v === 'number') return formatNumberIn(lang, v);
    return typeof v === 'string' ? v : v[lang];
  });
}

export function renderMessage(rule: AlarmRule, vars: Record<string, MessageVar | undefined>): Texts {
  const t = rule.message ?? DEFAULTS[rule.type];
  return { vi: fill(t.vi, 'vi', vars).replace(/\s+/g, ' ').trim(), en: fill(t.en, 'en', vars).replace(/\s+/g, ' ').trim() };
}
