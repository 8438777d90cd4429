import {
  DERIVED_KINDS,
  deviceExpectedIntervalMs,
  formatClockIn,
  formatDurationIn,
  topics,
  type AlarmEvent,
  type AqiLevelSpec,
  type CityModel,
  type Device,
  type GatewayHealth,
  type GatewayStatus,
  type StoredReading,
  type SystemHealth,
  systemSourceId,
  KIND_FIELDS,
  isDeviceKind,
} from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { ConditionTracker, type Observation, type Transition } from './conditions';
import { renderMessage, type MessageVar } from './messages';
import { compare, evaluateReading, evaluateWaterLevel, ruleReadingKind, type ReadingRule } from './reading-rules';
import type { AlarmRule, RuleOf } from '@tamky/protocol';
import type { ReadingObserver } from '../observers';

export interface AlarmDetectorLimits {
  /** Cap on tracked (rule, source) conditions: a flood of unknown device ids cannot exhaust memory. */
  maxConditions?: number;
  /** After a restart, announce 'cleared' once per healthy (rule, source) so alarms left open while down close. */
  announceClearOnStart?: boolean;
  /** Failed publishes kept for retry on tick (latest per condition). */
  maxPendingPublishes?: number;
}

export interface AlarmDetectorOptions {
  rules: AlarmRule[];
  city: CityModel;
  /** VN_AQI levels from the loaded limits (config/limits/vn-aqi.yaml). */
  aqiLevels: readonly AqiLevelSpec[];
  publish: (topic: string, payload: AlarmEvent) => Promise<void>;
  logger?: Logger;
  limits?: AlarmDetectorLimits;
}

export interface AlarmDetector extends ReadingObserver {
  setRules(rules: AlarmRule[]): void;
  /** Counters for metrics and tests. */
  stats(): { conditions: number; published: number; publishFailures: number; pendingPublishes: number };
}

interface SourceInfo {
  sourceId: string;
  ward?: string;
  kind?: string;
  device?: Device;
  deviceId?: string;
  gateway?: string;
  tags: string[];
}

/**
 * Derived hourly values keep the hour's start as ts and are rewritten as the hour fills; their conditions
 * are timed by when they were observed, or a duration could never elapse within the hour.
 */
const DERIVED = new Set<string>(DERIVED_KINDS);

const READING_TYPES = new Set([
  'threshold',
  'rate_of_change',
  'vn_aqi_level',
  'noise_limit',
  'water_level',
  'lamp_failure',
  'day_burner',
  'night_outage',
  'power_deviation',
]);

export function createAlarmDetector(opts: AlarmDetectorOptions): AlarmDetector {
  const { logger } = opts;
  const limits = { maxConditions: 200_000, announceClearOnStart: true, maxPendingPublishes: 10_000, ...opts.limits };
  // The device registry, replaced as a whole by onRegistry (ingest follows config/registry).
  let city = opts.city;
  let devices = new Map<string, Device>();
  let wardNames = new Map<string, string>();
  let gatewayWard = new Map<string, string>();
  let gatewayPoll = new Map<string, number>();
  function useCity(next: CityModel): void {
    city = next;
    devices = new Map(next.devices.map((d) => [d.id, d]));
    wardNames = new Map(next.wards.map((w) => [w.id, w.name]));
    gatewayWard = new Map(next.gateways.map((g) => [g.id, g.ward]));
    gatewayPoll = new Map();
    for (const d of next.devices) gatewayPoll.set(d.gateway, Math.min(gatewayPoll.get(d.gateway) ?? Infinity, d.pollIntervalMs));
  }
  useCity(opts.city);

  let rules: AlarmRule[] = [];
  let readingRules: ReadingRule[] = [];
  /** readingRules by the kind of reading each evaluates, in rule order: a reading meets only its kind's rules. */
  let rulesByKind = new Map<string, ReadingRule[]>();
  const tracker = new ConditionTracker(limits.maxConditions);
  const history = new Map<string, Array<[number, number]>>();
  const waterStages = new Map<string, number>();
  const lastDeviceSeen = new Map<string, number>();
  const lastGatewaySeen = new Map<string, number>();
  const gatewayOffline = new Map<string, GatewayStatus>();
  const outboxDepths = new Map<string, number[]>();
  /** Per gateway: its last health report's time minus the time it was received (ms). */
  const clockOffsets = new Map<string, number>();
  const crcCounters = new Map<string, number>();
  const lastHealth = new Map<string, { ts: number; uptimeS: number }>();
  /** Per (system rule, service): the subjects of its last report, so one that vanished is cleared. */
  const systemSubjects = new Map<string, Set<string>>();
  const pending = new Map<string, { topic: string; event: AlarmEvent }>();
  let startedAt: number | undefined;
  let published = 0;
  let publishFailures = 0;

  function setRules(next: AlarmRule[]): void {
    rules = next.filter((r) => r.enabled);
    readingRules = rules.filter((r): r is ReadingRule => READING_TYPES.has(r.type));
    rulesByKind = new Map();
    for (const rule of readingRules) {
      const kind = ruleReadingKind(rule);
      const list = rulesByKind.get(kind);
      if (list) list.push(rule);
      else rulesByKind.set(kind, [rule]);
    }
    tracker.retainRules(new Set(rules.map((r) => r.id)));
  }
  setRules(opts.rules);

  function inScope(rule: AlarmRule, s: SourceInfo, readingKind?: string): boolean {
    const sc = rule.scope;
    if (sc.wards?.length && !(s.ward && sc.wards.includes(s.ward))) return false;
    if (sc.kinds?.length && !sc.kinds.some((k) => k === s.kind || k === readingKind)) return false;
    if (sc.tags?.length && !sc.tags.some((t) => s.tags.includes(t))) return false;
    if (sc.devices?.length && !(s.deviceId && sc.devices.includes(s.deviceId))) return false;
    if (sc.gateways?.length && !(s.gateway && sc.gateways.includes(s.gateway))) return false;
    return true;
  }

  function deviceSource(deviceId: string, fallback?: { ward: string; gateway: string; kind: string }): SourceInfo {
    const d = devices.get(deviceId);
    return {
      sourceId: deviceId,
      deviceId,
      device: d,
      ward: d?.ward ?? fallback?.ward,
      kind: d?.kind ?? fallback?.kind,
      gateway: d?.gateway ?? fallback?.gateway,
      tags: d?.tags ?? [],
    };
  }

  function gatewaySource(gatewayId: string): SourceInfo {
    return { sourceId: gatewayId, gateway: gatewayId, ward: gatewayWard.get(gatewayId), tags: [] };
  }

  function unitOf(kind: string | undefined, field: string | undefined, ruleUnit?: string): string | undefined {
    if (ruleUnit) return ruleUnit;
    if (kind && field && isDeviceKind(kind)) return KIND_FIELDS[kind][field]?.unit;
    if (kind === 'vn_aqi') return 'aqi';
    if (kind === 'noise_hourly' || kind === 'noise_meter') return 'dBA';
    return undefined;
  }

  function fieldOf(rule: AlarmRule): string | undefined {
    switch (rule.type) {
      case 'threshold':
      case 'rate_of_change':
      case 'water_level':
        return rule.field;
      case 'vn_aqi_level':
        return 'aqi';
      case 'noise_limit':
        return 'laeq';
      case 'power_deviation':
        return 'power';
      default:
        return undefined;
    }
  }

  /**
   * "từ 08:33 (7 phút)": when the source went quiet, in the city's time, and for how long. A no-data alarm
   * has no value and limit to compare (a silence is not a measurement), so its text carries both.
   */
  function silence(sinceTs: number, silentMs: number): Record<string, MessageVar> {
    const clock = (lang: 'vi' | 'en') => formatClockIn(lang, sinceTs, city.timeZone);
    const forText = (lang: 'vi' | 'en') => (silentMs >= 60_000 ? ` (${formatDurationIn(lang, silentMs)})` : '');
    return {
      silentMin: Math.round(silentMs / 60_000),
      sinceTime: { vi: clock('vi'), en: clock('en') },
      silentFor: { vi: forText('vi'), en: forText('en') },
    };
  }

  function emit(rule: AlarmRule, src: SourceInfo, t: Transition): Promise<void> {
    if (t.state === 'cleared' && t.reconcile && !limits.announceClearOnStart) return Promise.resolve();
    const field = fieldOf(rule);
    const kind = src.kind;
    const unit = unitOf(kind, field, 'unit' in rule ? rule.unit : undefined);
    const wardName = src.ward ? (wardNames.get(src.ward) ?? src.ward) : '';
    const gatewayName =
      src.gateway && !src.deviceId ? (city.gateways.find((g) => g.id === src.gateway)?.name ?? `Gateway ${src.gateway}`) : undefined;
    const name = src.device?.name ?? gatewayName ?? src.sourceId;
    const fieldLabel = kind && field && isDeviceKind(kind) ? KIND_FIELDS[kind][field]?.label : undefined;
    const obs: Observation = t.obs;
    const message = renderMessage(rule, {
      // The ward in brackets unless the name already says it ("Gateway An Phú").
      place: wardName && !name.includes(wardName) ? `${name} (${wardName})` : name,
      device: src.deviceId ?? '',
      deviceName: name,
      ward: src.ward ?? '',
      wardName,
      gateway: src.gateway ?? '',
      field: field ?? '',
      fieldLabelVi: fieldLabel?.vi ?? field ?? '',
      fieldLabelEn: fieldLabel?.en ?? field ?? '',
      value: obs.value ?? '–',
      limit: obs.limit ?? '–',
      unit: unit === 'aqi' ? '' : (unit ?? ''),
      ...obs.vars,
    });
    const event: AlarmEvent = {
      ruleId: rule.id,
      sourceId: src.sourceId,
      state: t.state,
      severity: obs.severity ?? rule.severity,
      category: rule.category,
      ...(src.ward ? { ward: src.ward } : {}),
      ...(kind ? { kind } : {}),
      ...(src.deviceId ? { device: src.deviceId } : {}),
      ...(src.gateway ? { gateway: src.gateway } : {}),
      ...(field ? { field } : {}),
      value: obs.value,
      limit: obs.limit,
      ...(unit ? { unit } : {}),
      since: Math.round(t.since),
      ts: Math.round(obs.ts),
      message,
    };
    return send(topicKey(rule.id, src.sourceId), topics.alarmEvent(rule.id, src.sourceId), event);
  }

  const topicKey = (ruleId: string, sourceId: string) => `${ruleId}|${sourceId}`;

  async function send(key: string, topic: string, event: AlarmEvent): Promise<void> {
    pending.delete(key);
    try {
      await opts.publish(topic, event);
      published++;
    } catch (err) {
      publishFailures++;
      // Keep the newest event per condition and retry on tick: an alarm must not vanish with a broker hiccup.
      if (pending.size < limits.maxPendingPublishes) pending.set(key, { topic, event });
      logger?.warn({ err, topic }, 'alarm event publish failed; will retry');
    }
  }

  function observe(rule: AlarmRule, src: SourceInfo, obs: Observation | undefined, out: Promise<void>[]): void {
    if (!obs) return;
    const forMs = 'forS' in rule ? rule.forS * 1000 : 0;
    const clearForMs = 'clearForS' in rule ? rule.clearForS * 1000 : 0;
    const t = tracker.observe(topicKey(rule.id, src.sourceId), obs, { forMs, clearForMs, repeatMs: rule.repeatEveryS * 1000 });
    if (t) out.push(emit(rule, src, t));
  }

  async function onReadings(readings: StoredReading[], now: number): Promise<void> {
    startedAt ??= now;
    const out: Promise<void>[] = [];
    // A message's readings come in runs of one gateway: its last-seen time (the same `now`) is set once a run.
    let runGateway: string | undefined;
    for (const stored of readings) {
      const r = DERIVED.has(stored.kind) ? { ...stored, ts: Math.max(now, stored.ts) } : stored;
      lastDeviceSeen.set(r.device, now);
      if (r.gateway !== runGateway) {
        lastGatewaySeen.set(r.gateway, now);
        runGateway = r.gateway;
      }
      if (gatewayOffline.size > 0 && gatewayOffline.has(r.gateway) && r.ts > gatewayOffline.get(r.gateway)!.ts)
        gatewayOffline.delete(r.gateway);
      const kindRules = rulesByKind.get(r.kind);
      if (kindRules === undefined) continue;
      const src = deviceSource(r.device, r);
      for (const rule of kindRules) {
        if (!inScope(rule, src, r.kind)) continue;
        try {
          if (rule.type === 'water_level') {
            const key = topicKey(rule.id, r.device);
            const obs = evaluateWaterLevel(rule, r, src.device, waterStages.get(key) ?? 0);
            if (obs) waterStages.set(key, obs.stage);
            observe(rule, src, obs, out);
          } else {
            observe(rule, src, evaluateReading(rule, r, { city, device: src.device, history, aqiLevels: opts.aqiLevels }), out);
          }
        } catch (err) {
          logger?.error({ err, rule: rule.id, device: r.device }, 'alarm rule evaluation failed');
        }
      }
    }
    await Promise.all(out);
  }

  function evaluateSilence(now: number, out: Promise<void>[], onlyGateway?: string): void {
    startedAt ??= now;
    for (const rule of rules) {
      if (rule.type !== 'no_data') continue;
      const minMs = rule.minSilenceS * 1000;
      if (rule.target === 'device') {
        if (onlyGateway) continue;
        for (const d of city.devices) {
          const src = deviceSource(d.id);
          if (!inScope(rule, src)) continue;
          const last = lastDeviceSeen.get(d.id);
          const limitMs = Math.max(rule.factor * deviceExpectedIntervalMs(d), minMs);
          const silentMs = now - (last ?? startedAt);
          // A silent gateway silences its devices: report the one cause (gateway alarm), not a storm of devices.
          const gatewaySilent = gatewayOffline.has(d.gateway) || now - (lastGatewaySeen.get(d.gateway) ?? startedAt) > limitMs;
          const breach = silentMs > limitMs && !gatewaySilent;
          const clear = !breach && !gatewaySilent && last !== undefined;
          observe(rule, src, { ts: now, breach, clear, value: null, limit: null, vars: silence(last ?? startedAt, silentMs) }, out);
        }
      } else {
        for (const g of city.gateways) {
          if (onlyGateway && g.id !== onlyGateway) continue;
          const src = gatewaySource(g.id);
          if (!inScope(rule, src)) continue;
          const last = lastGatewaySeen.get(g.id);
          const limitMs = Math.max(rule.factor * (gatewayPoll.get(g.id) ?? 5000), minMs);
          const silentMs = now - (last ?? startedAt);
          const offline = rule.onOffline && gatewayOffline.has(g.id);
          const breach = offline || silentMs > limitMs;
          observe(
            rule,
            src,
            { ts: now, breach, clear: !breach && last !== undefined, value: null, limit: null, vars: silence(last ?? startedAt, silentMs) },
            out,
          );
        }
      }
    }
  }

  function settle(out: Promise<void>[]): void {
    // Hooks that must stay synchronous: publishing failures are already caught inside send().
    void Promise.all(out);
  }

  return {
    setRules,
    onReadings,
    // Devices added are watched from now on (names, wards, poll intervals, silence); a removed device or
    // gateway is no longer checked for silence. A condition it left active stays as it was.
    onRegistry: useCity,
    onGatewayStatus(s, now) {
      if (s.state === 'offline') gatewayOffline.set(s.gateway, s);
      else {
        gatewayOffline.delete(s.gateway);
        lastGatewaySeen.set(s.gateway, now);
      }
      const out: Promise<void>[] = [];
      evaluateSilence(now, out, s.gateway);
      settle(out);
    },
    onGatewayHealth(h, now) {
      lastGatewaySeen.set(h.gateway, now);
      // A report older than the last one judged (redelivered late from a session queue while newer ones came
      // live) would undo what the newer said: a full disk seen as free again, then full again. Older means both
      // earlier and from less uptime: a clock stepped back keeps counting uptime, a restart starts it again later.
      const last = lastHealth.get(h.gateway);
      if (last && h.ts < last.ts && h.uptimeS <= last.uptimeS) return;
      lastHealth.set(h.gateway, { ts: h.ts, uptimeS: h.uptimeS });
      const out: Promise<void>[] = [];
      for (const rule of rules) {
        if (rule.type === 'gateway_outbox') evaluateOutbox(rule, h, out);
        else if (rule.type === 'gateway_disk') evaluateDisk(rule, h, out);
        else if (rule.type === 'gateway_clock') evaluateClock(rule, h, now, out);
        else if (rule.type === 'device_crc_errors') evaluateCrc(rule, h, out);
      }
      for (const d of h.devices) crcCounters.set(`${h.gateway}|${d.device}`, d.crcErrors);
      clockOffsets.set(h.gateway, h.ts - now);
      settle(out);
    },
    onSystemHealth(h) {
      const out: Promise<void>[] = [];
      for (const rule of rules) if (rule.type === 'system') evaluateSystem(rule, h, out);
      settle(out);
    },
    async tick(now) {
      const out: Promise<void>[] = [];
      evaluateSilence(now, out);
      for (const [key, p] of [...pending]) out.push(send(key, p.topic, p.event));
      await Promise.all(out);
    },
    stats: () => ({ conditions: tracker.size, published, publishFailures, pendingPublishes: pending.size }),
  };

  function evaluateOutbox(rule: RuleOf<'gateway_outbox'>, h: GatewayHealth, out: Promise<void>[]): void {
    const src = gatewaySource(h.gateway);
    if (!inScope(rule, src)) return;
    const depths = outboxDepths.get(`${rule.id}|${h.gateway}`) ?? [];
    depths.push(h.outbox.depth);
    if (depths.length > rule.reports) depths.shift();
    outboxDepths.set(`${rule.id}|${h.gateway}`, depths);
    const growing = depths.length >= rule.reports && depths.every((d, i) => i === 0 || d > depths[i - 1]!);
    const ageS = h.outbox.oldestTs === null ? 0 : (h.ts - h.outbox.oldestTs) / 1000;
    const breach = (growing && h.outbox.depth >= rule.minDepth) || ageS > rule.maxAgeS;
    const prev = depths.length >= 2 ? depths[depths.length - 2]! : Infinity;
    const clear = !breach && (h.outbox.depth === 0 || h.outbox.depth < prev);
    observe(
      rule,
      src,
      { ts: h.ts, breach, clear, value: h.outbox.depth, limit: rule.minDepth, vars: { oldestAgeS: Math.round(ageS) } },
      out,
    );
  }

  function evaluateDisk(rule: RuleOf<'gateway_disk'>, h: GatewayHealth, out: Promise<void>[]): void {
    const src = gatewaySource(h.gateway);
    if (!inScope(rule, src) || h.diskFreeBytes === null || !h.diskTotalBytes) return;
    const used = Math.round((1 - h.diskFreeBytes / h.diskTotalBytes) * 1000) / 10;
    observe(
      rule,
      src,
      {
        ts: h.ts,
        breach: used >= rule.usedPercent,
        clear: used < rule.usedPercent - rule.clearMarginPercent,
        value: used,
        limit: rule.usedPercent,
        vars: { freeMb: Math.round(h.diskFreeBytes / 1048576) },
      },
      out,
    );
  }

  function evaluateClock(rule: RuleOf<'gateway_clock'>, h: GatewayHealth, now: number, out: Promise<void>[]): void {
    const src = gatewaySource(h.gateway);
    if (!inScope(rule, src)) return;
    const offset = h.ts - now;
    const previous = clockOffsets.get(h.gateway);
    const off = Math.abs(offset) > rule.maxOffsetS * 1000;
    const agrees = previous !== undefined && Math.abs(offset - previous) <= rule.agreeS * 1000;
    observe(
      rule,
      src,
      // Stamped by the centre's clock: the gateway's is the one in doubt.
      { ts: now, breach: off && agrees, clear: !off, value: Math.round(offset / 1000), limit: rule.maxOffsetS },
      out,
    );
  }

  function evaluateSystem(rule: RuleOf<'system'>, h: SystemHealth, out: Promise<void>[]): void {
    if (rule.services?.length && !rule.services.includes(h.service)) return;
    const key = `${rule.id}|${h.service}`;
    const before = systemSubjects.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const sample of h.samples) {
      if (sample.check !== rule.check) continue;
      now.add(sample.subject);
      const src: SourceInfo = { sourceId: systemSourceId(h.service, sample.subject), tags: [] };
      if (!inScope(rule, src)) continue;
      const x = Math.round(sample.value * 10) / 10;
      const breach = compare(rule.op, x, rule.value);
      const clearAt = rule.clearValue ?? rule.value;
      // Clearing needs the value back past the (hysteresis) clear value, as threshold rules do.
      const safe = rule.op.startsWith('>') ? x < clearAt : x > clearAt;
      const vars = { service: h.service, subject: sample.subject, ...sample.detail };
      observe(
        rule,
        src,
        { ts: h.ts, breach, clear: !breach && (safe || rule.clearValue === undefined), value: x, limit: rule.value, vars },
        out,
      );
    }
    // A subject the service no longer reports (a session that came back and drained, a certificate replaced) is healthy.
    for (const subject of before) {
      if (now.has(subject)) continue;
      const src: SourceInfo = { sourceId: systemSourceId(h.service, subject), tags: [] };
      observe(
        rule,
        src,
        { ts: h.ts, breach: false, clear: true, value: null, limit: rule.value, vars: { service: h.service, subject } },
        out,
      );
    }
    systemSubjects.set(key, now);
  }

  function evaluateCrc(rule: RuleOf<'device_crc_errors'>, h: GatewayHealth, out: Promise<void>[]): void {
    for (const d of h.devices) {
      const src = deviceSource(d.device, { ward: gatewayWard.get(h.gateway) ?? '', gateway: h.gateway, kind: '' });
      if (!inScope(rule, src)) continue;
      const prev = crcCounters.get(`${h.gateway}|${d.device}`);
      // A counter that went backwards was reset by a gateway restart: count from zero.
      const increase = prev === undefined ? 0 : d.crcErrors >= prev ? d.crcErrors - prev : d.crcErrors;
      if (prev === undefined) continue;
      const breach = increase >= rule.minIncrease;
      observe(rule, src, { ts: h.ts, breach, clear: increase === 0, value: increase, limit: rule.minIncrease }, out);
    }
  }
}
