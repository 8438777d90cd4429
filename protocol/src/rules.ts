import { z } from 'zod';
import { ID_HINT, ID_PATTERN } from './ids';
import { parseConfig } from './config-errors';
import { SEVERITIES } from './alarms';
import { SYSTEM_CHECKS } from './system-health';

/**
 * Alarm rules are data (config/rules/*.yaml, edited through the dashboard API, published on config/rules to
 * ingest's detector): the schema lives here for both sides. Each rule has a type that picks its evaluator, a scope that picks its sources, and optional vi/en message templates with
 * placeholders {device} {deviceName} {ward} {wardName} {gateway} {value} {limit} {unit} {field} {level}.
 */
const severity = z.enum(SEVERITIES);
const ruleId = z.string().regex(ID_PATTERN, `${ID_HINT} (it becomes a topic level)`);

export const scopeSchema = z
  .object({
    wards: z.array(z.string()).optional(),
    kinds: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
    devices: z.array(z.string()).optional(),
    gateways: z.array(z.string()).optional(),
  })
  .strict()
  .default({});

const common = {
  id: ruleId,
  enabled: z.boolean().default(true),
  severity: severity.default('major'),
  category: z.string().min(1),
  scope: scopeSchema,
  message: z.object({ vi: z.string().min(1), en: z.string().min(1) }).optional(),
  /** While the condition holds, repeat a 'raised' event (with the current value) at most this often. */
  repeatEveryS: z.number().positive().default(60),
};
const duration = {
  /** The condition must hold this long before the alarm is raised (e.g. 10 min above the limit). */
  forS: z.number().nonnegative().default(0),
  /** The clearing condition must hold this long before the alarm clears. */
  clearForS: z.number().nonnegative().default(0),
};
const op = z.enum(['>', '>=', '<', '<=']);

export const thresholdRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('threshold'),
    kind: z.string().min(1),
    field: z.string().min(1),
    op,
    value: z.number(),
    /** Hysteresis: clear only once the value is back past this (defaults to `value`). */
    clearValue: z.number().optional(),
    unit: z.string().optional(),
  })
  .strict()
  .superRefine((r, ctx) => clearValueOnSafeSide(r, ctx));

export const rateOfChangeRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('rate_of_change'),
    kind: z.string().min(1),
    field: z.string().min(1),
    /** Raise when the value changes by at least |delta| within windowS (direction up, down or either). */
    delta: z.number().positive(),
    windowS: z.number().positive(),
    direction: z.enum(['up', 'down', 'any']).default('any'),
    unit: z.string().optional(),
  })
  .strict();

export const noDataRuleSchema = z
  .object({
    ...common,
    type: z.literal('no_data'),
    target: z.enum(['device', 'gateway']).default('device'),
    /** Silent for more than factor × the poll interval (a gateway: its fastest device). */
    factor: z.number().positive().default(5),
    /** Never sooner than this, whatever the poll interval. */
    minSilenceS: z.number().nonnegative().default(60),
    /** Gateways: raise at once when the gateway's last will says it is offline. */
    onOffline: z.boolean().default(true),
  })
  .strict();

export const aqiLevelRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('vn_aqi_level'),
    /** VN_AQI at or above this raises (151 = "Xấu"/Bad). */
    minAqi: z.number().min(0).max(500).default(151),
    clearBelow: z.number().optional(),
    /** Severity by level reached, overriding `severity`. */
    severityByLevel: z.partialRecord(z.enum(['good', 'moderate', 'poor', 'bad', 'very_bad', 'hazardous']), severity).optional(),
  })
  .strict();

export const noiseLimitRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('noise_limit'),
    /** `noise_hourly` (derived LAeq with its limit) or `noise_meter` (raw LAeq, limit from zone and local time). */
    kind: z.enum(['noise_hourly', 'noise_meter']).default('noise_hourly'),
    marginDb: z.number().nonnegative().default(0),
    /** QCVN 26 table as data: dB(A) by zone for day (06–21) and night (21–06), local time. */
    limits: z
      .record(z.string(), z.object({ day: z.number(), night: z.number() }))
      .default({ special: { day: 55, night: 45 }, normal: { day: 70, night: 55 } }),
    dayStartHour: z.number().int().min(0).max(23).default(6),
    nightStartHour: z.number().int().min(0).max(23).default(21),
    clearMarginDb: z.number().nonnegative().default(1),
  })
  .strict();

export const waterLevelRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('water_level'),
    field: z.string().default('level'),
    /** Severity for báo động 1, 2, 3. */
    severities: z.tuple([severity, severity, severity]).default(['minor', 'major', 'critical']),
    /** Hysteresis: the level must drop this far below a stage's level before the stage is left. */
    clearMarginM: z.number().nonnegative().default(0.1),
  })
  .strict();

export const lampFailureRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('lamp_failure'),
    /** Status bits that mean failure (register-maps: b0 ballast failure, b1 lamp failure). */
    mask: z.number().int().min(1).max(255).default(3),
  })
  .strict();

const lightingCommon = {
  ...common,
  ...duration,
};
export const dayBurnerRuleSchema = z
  .object({
    ...lightingCommon,
    type: z.literal('day_burner'),
    /** Sun elevation (degrees) above which a lit lamp is wasted. */
    sunAboveDeg: z.number().default(6),
    minLevelPct: z.number().min(0).max(100).default(1),
  })
  .strict();

export const nightOutageRuleSchema = z
  .object({
    ...lightingCommon,
    type: z.literal('night_outage'),
    /** Sun elevation (degrees) below which every lamp must be lit (civil twilight: −6°). */
    sunBelowDeg: z.number().default(-6),
  })
  .strict();

export const powerDeviationRuleSchema = z
  .object({
    ...lightingCommon,
    type: z.literal('power_deviation'),
    /** Raise when |measured − rated × Σ dim levels| exceeds this fraction of the expected power. */
    tolerance: z.number().positive().default(0.3),
    /** Below this expected power (W) the comparison is noise: skip. */
    minExpectedW: z.number().nonnegative().default(20),
  })
  .strict();

export const outboxGrowthRuleSchema = z
  .object({
    ...common,
    type: z.literal('gateway_outbox'),
    /** Raise when the outbox has grown for `reports` consecutive health reports and holds at least minDepth. */
    reports: z.number().int().min(2).default(3),
    minDepth: z.number().int().nonnegative().default(100),
    /** …or when the oldest queued reading is older than this. */
    maxAgeS: z.number().positive().default(600),
  })
  .strict();

export const gatewayDiskRuleSchema = z
  .object({
    ...common,
    type: z.literal('gateway_disk'),
    /** Raise when the file system holding a gateway's outbox is at least this full (percent used). */
    usedPercent: z.number().min(1).max(100),
    /** Clear once it is this many points below usedPercent (no flapping around the line). */
    clearMarginPercent: z.number().nonnegative().default(2),
  })
  .strict();

export const gatewayClockRuleSchema = z
  .object({
    ...common,
    type: z.literal('gateway_clock'),
    /** Raise when a gateway's health report is stamped this far (either way) from the time ingest received it. */
    maxOffsetS: z.number().positive().default(60),
    /**
     * …in two reports in a row whose offsets agree within this: a wrong clock is off by the same amount each
     * time, while reports held back by an outage and delivered together drift apart by their interval.
     */
    agreeS: z.number().positive().default(5),
  })
  .strict();

/** Keeps a clear value on the safe side of its rule's value (threshold and system rules). */
function clearValueOnSafeSide(r: { op: string; value: number; clearValue?: number }, ctx: z.RefinementCtx): void {
  if (r.clearValue === undefined) return;
  const ok = r.op.startsWith('>') ? r.clearValue <= r.value : r.clearValue >= r.value;
  if (!ok) ctx.addIssue({ code: 'custom', path: ['clearValue'], message: `must be on the safe side of value ${r.value} for op ${r.op}` });
}

export const systemRuleSchema = z
  .object({
    ...common,
    ...duration,
    type: z.literal('system'),
    /** Which measurement of the services' own health (protocol/src/system-health.ts) the rule compares. */
    check: z.enum(SYSTEM_CHECKS),
    /** Only these services' reports (e.g. ["broker"]); all when absent. */
    services: z.array(z.string()).optional(),
    op,
    value: z.number(),
    /** Hysteresis: clear only once the value is back past this (defaults to `value`). */
    clearValue: z.number().optional(),
  })
  .strict()
  .superRefine(clearValueOnSafeSide);

export const crcErrorsRuleSchema = z
  .object({
    ...common,
    type: z.literal('device_crc_errors'),
    /** Raise when a device's CRC error counter grows by at least this between two health reports. */
    minIncrease: z.number().int().positive().default(3),
  })
  .strict();

export const alarmRuleSchema = z.discriminatedUnion('type', [
  thresholdRuleSchema,
  rateOfChangeRuleSchema,
  noDataRuleSchema,
  aqiLevelRuleSchema,
  noiseLimitRuleSchema,
  waterLevelRuleSchema,
  lampFailureRuleSchema,
  dayBurnerRuleSchema,
  nightOutageRuleSchema,
  powerDeviationRuleSchema,
  outboxGrowthRuleSchema,
  gatewayDiskRuleSchema,
  gatewayClockRuleSchema,
  crcErrorsRuleSchema,
  systemRuleSchema,
]);
export type AlarmRule = z.infer<typeof alarmRuleSchema>;
export type AlarmRuleInput = z.input<typeof alarmRuleSchema>;
export type RuleOf<T extends AlarmRule['type']> = Extract<AlarmRule, { type: T }>;

export const ruleSetSchema = z
  .object({
    version: z.number().int().nonnegative().default(0),
    rules: z.array(alarmRuleSchema),
  })
  .superRefine((set, ctx) => {
    const seen = new Set<string>();
    set.rules.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${r.id}"` });
      seen.add(r.id);
    });
  });
export type RuleSet = z.infer<typeof ruleSetSchema>;

/** Parses a rule set from anything (API body, retained MQTT payload); throws ConfigError naming `source`. */
export function parseRuleSet(data: unknown, source = 'rules'): RuleSet {
  return parseConfig(ruleSetSchema, data, source);
}

/** The retained payload on topics.configRules(): `{version, ts, rules}`. */
export function parseRulesMessage(payload: Buffer | string): RuleSet & { ts?: number } {
  const data = JSON.parse(payload.toString()) as { ts?: unknown };
  const set = parseRuleSet(data, 'topic config/rules');
  return typeof data.ts === 'number' ? { ...set, ts: data.ts } : set;
}
