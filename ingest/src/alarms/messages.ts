import { formatNumberIn, type AlarmRule, type SystemCheck, type TextLang } from '@tamky/protocol';

type Texts = { vi: string; en: string };
/** A placeholder's value: text, a number (written per language: "4,2" / "4.2"), or text per language. */
export type MessageVar = string | number | Texts;

/** Default texts per rule type; a rule's own `message` overrides them. Place first, then value and limit. */
const DEFAULTS: Record<Exclude<AlarmRule['type'], 'system'>, Texts> = {
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

/** System rules: one text per check ({service} is the reporting service, {subject} what it measured). */
const SYSTEM_DEFAULTS: Record<SystemCheck, Texts> = {
  disk_used_percent: {
    vi: '{service}: ổ đĩa {path} đã dùng {value}% (ngưỡng {limit}%), còn trống {freeMb} MB',
    en: '{service}: disk {path} {value}% used (limit {limit}%), {freeMb} MB free',
  },
  store_write_failing_s: {
    vi: '{service}: kho dữ liệu từ chối ghi đã {value} giây ({error}); số liệu đang chờ ở broker',
    en: '{service}: the store has refused writes for {value} s ({error}); readings wait in the broker',
  },
  ingest_lag_s: {
    vi: '{service}: bản tin chưa xác nhận lâu nhất đã chờ {value} giây (ngưỡng {limit} giây)',
    en: '{service}: oldest unacknowledged message waiting {value} s (limit {limit} s)',
  },
  broker_connections_percent: {
    vi: '{service}: {count}/{max} kết nối ({value}%, ngưỡng {limit}%)',
    en: '{service}: {count} of {max} connections ({value}%, limit {limit}%)',
  },
  session_queue: {
    vi: '{service}: phiên {client} ngoại tuyến có {value} bản tin đang chờ (ngưỡng {limit})',
    en: '{service}: offline session {client} has {value} queued messages (limit {limit})',
  },
  cert_days_left: {
    vi: 'Chứng chỉ {cn} ({file}) hết hạn ngày {notAfter}, còn {value} ngày',
    en: 'Certificate {cn} ({file}) expires on {notAfter}, {value} days left',
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
  const t = rule.message ?? (rule.type === 'system' ? SYSTEM_DEFAULTS[rule.check] : DEFAULTS[rule.type]);
  return { vi: fill(t.vi, 'vi', vars).replace(/\s+/g, ' ').trim(), en: fill(t.en, 'en', vars).replace(/\s+/g, ' ').trim() };
}
