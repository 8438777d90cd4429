import { existsSync } from 'node:fs';
import { alarmEventSchema, filters, topics } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { ruleSetSchema } from '@tamky/protocol';
import { migrate } from '../state-db';
import type { DashboardModule, ModuleContext } from '../module';
import { createNotifier, loadNotifyPolicy, type Notifier, type NotifyPolicy, type ChannelOverrides } from '../notify';
import type { Alarm, AlarmChange } from './model';
import { mountAlarmRoutes } from './routes';
import { toApiAlarm } from './api-shape';
import { mountRulesRoutes } from './rules-routes';
import { createAlarmMetrics } from './metrics';
import type { Registry } from 'prom-client';
import { ALARM_MIGRATIONS, createAlarmStore, type AlarmStore } from './store';

export type { Alarm, AlarmChange, AlarmState, AlarmAuditEntry } from './model';
export { createAlarmStore, ALARM_MIGRATIONS, type AlarmStore } from './store';
export { toApiAlarm, type ApiAlarm } from './api-shape';

export interface AlarmsModuleConfig {
  /** Seeds version 1 of the rules (and publishes it retained) when the server has none yet. */
  rulesFile?: string;
  /** Notification policy: a parsed policy or a file (config/notify/policy.yaml). Absent: no notifications. */
  notify?: NotifyPolicy | string;
  /** How often escalation and the outbox are looked at, ms. */
  tickMs?: number;
  /** Replace provider adapters (tests, or a city's own SMS gateway). */
  channels?: ChannelOverrides;
}

export interface AlarmsModule extends DashboardModule {
  /** For tests and the demo: run escalation and the outbox now. */
  tick(): Promise<void>;
  readonly store: AlarmStore;
  readonly notifier: Notifier | undefined;
  /** Prometheus registry of this module; merge into the server's /metrics. */
  readonly metrics: Registry;
}

/** Alarm lifecycle + notifications as a dashboard module: consumes detector events, owns state, serves the API. */
export function createAlarmsModule(config: AlarmsModuleConfig = {}): AlarmsModule {
  let ctx: ModuleContext | undefined;
  let store: AlarmStore | undefined;
  let notifier: Notifier | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const metrics = createAlarmMetrics(() => ctx?.db);

  const need = () => {
    if (!ctx || !store) throw new Error('alarms module used before start()');
    return { ctx, store };
  };

  function changed(alarm: Alarm, change: AlarmChange, actor: string): void {
    const { ctx } = need();
    ctx.broadcast('alarms', { type: 'alarm', alarm: toApiAlarm(alarm) });
    metrics.changes.inc({ change });
    try {
      notifier?.plan(alarm, change);
    } catch (err) {
      ctx.logger.error({ err, alarm: alarm.id }, 'notification planning failed');
    }
    if (change === 'raised' || change === 'cleared') ctx.logger.info({ alarm: alarm.id, rule: alarm.ruleId, source: alarm.sourceId, change, actor }, 'alarm');
  }

  async function tick(): Promise<void> {
    if (!notifier) return;
    // One pass at a time: a slow provider must not start a second, overlapping send of the same rows.
    if (ticking) return ticking;
    ticking = notifier.tick().finally(() => (ticking = undefined));
    return ticking;
  }

  function seedRules(c: ModuleContext): void {
    if (!config.rulesFile || !existsSync(config.rulesFile)) return;
    const hasTable = c.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rules'").get();
    if (!hasTable) return;
    const row = c.db.prepare('SELECT version FROM rules ORDER BY version DESC LIMIT 1').get();
    if (row) return;
    const set = loadConfigFile(config.rulesFile, ruleSetSchema);
    c.db.prepare('INSERT INTO rules (version, rules, user, ts) VALUES (1, ?, ?, ?)').run(JSON.stringify(set.rules), 'system', c.now());
    void c.mqttPublish(topics.configRules(), { version: 1, rules: set.rules }, { qos: 1, retain: true }).catch((err) => c.logger.warn({ err }, 'publishing seeded rules failed'));
  }

  const module: AlarmsModule = {
    name: 'alarms',
    subscriptions: [filters.allAlarms],
    get store() {
      return need().store;
    },
    get notifier() {
      return notifier;
    },
    metrics: metrics.registry,
    tick,
    async start(c) {
      ctx = c;
      migrate(c.db, ALARM_MIGRATIONS);
      store = createAlarmStore(c.db, c.now);
      const s = store;
      const filePolicy = typeof config.notify === 'string' ? loadNotifyPolicy(config.notify) : config.notify;
      // Recipients and escalation come from the state DB once an admin can edit them (the file seeds them).
      const policy = filePolicy && c.notifyDirectory ? c.notifyDirectory.attach(filePolicy) : filePolicy;
      if (policy) {
        notifier = await createNotifier({
          db: c.db,
          policy,
          city: c.city,
          now: c.now,
          publicUrl: c.publicUrl,
          logger: c.logger,
          channels: config.channels,
          onOutcome: (channel, outcome) => metrics.notifications.inc({ channel, outcome }),
          acknowledge: (alarmId, user, comment) => {
            const alarm = s.get(alarmId);
            if (!alarm || alarm.state !== 'active') return alarm;
            const acked = s.acknowledge(alarmId, user, comment);
            c.audit(user, 'alarm.ack', { alarm: alarmId, via: 'reply' });
            changed(acked, 'acknowledged', user);
            return acked;
          },
        });
      }
      if (notifier && c.notifyDirectory) {
        const n = notifier;
        c.notifyDirectory.onChange((p) => n.setPolicy(p));
      }
      seedRules(c);
      timer = setInterval(() => void tick().catch((err) => c.logger.error({ err }, 'notification tick failed')), config.tickMs ?? 1000);
      timer.unref();
    },
    async onMqttMessage(_topic, payload) {
      const { ctx, store } = need();
      let event;
      try {
        event = alarmEventSchema.parse(JSON.parse(payload.toString()));
      } catch (err) {
        metrics.invalid.inc();
        ctx.logger.warn({ err: (err as Error).message, topic: _topic }, 'invalid alarm event dropped');
        return;
      }
      // Lifecycle change and the notifications it causes commit together, before the broker gets its PUBACK.
      const result = ctx.db.transaction(() => {
        const r = store.applyEvent(event);
        if (r && notifier && (r.change === 'raised' || r.change === 'cleared' || r.severityChanged)) notifier.plan(r.alarm, r.severityChanged ? 'raised' : r.change);
        return r;
      })();
      if (result) {
        metrics.changes.inc({ change: result.change });
        ctx.broadcast('alarms', { type: 'alarm', alarm: toApiAlarm(result.alarm) });
      }
    },
    routes(router, c) {
      mountAlarmRoutes(router, c, {
        get store() {
          return need().store;
        },
        changed,
        notifications: (id) => notifier?.notificationsFor(id) ?? [],
      });
      mountRulesRoutes(router, c);
      // Provider callbacks (/notify/…) are mounted lazily: servers may mount routes before start() built the notifier.
      router.use((req, res, next) => (notifier && req.path.startsWith('/notify/') ? notifier.handle(req, res, next) : next()));
    },
    overviewAlarmCounts: (ward) => need().store.countsByWard(ward),
    openapi: alarmsOpenApi(),
    async close() {
      if (timer) clearInterval(timer);
      ctx?.notifyDirectory?.detach();
      await ticking?.catch(() => undefined);
      await notifier?.close();
    },
  };
  return module;
}

function alarmsOpenApi(): Record<string, unknown> {
  const ok = (d: string) => ({ 200: { description: d } });
  const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }];
  const post = (summary: string) => ({ post: { summary, parameters: idParam, responses: { ...ok('{alarm}'), 404: { description: 'no such alarm' }, 409: { description: 'not in a state that allows it' } } } });
  return {
    '/api/alarms': { get: { summary: 'Alarms newest first (?state=active,acknowledged,cleared,open&severity=&ward=&limit=&before=)', responses: ok('{alarms}') } },
    '/api/alarms/{id}': { get: { summary: 'One alarm with its audit trail and notifications', parameters: idParam, responses: ok('{alarm, audit, notifications}') } },
    '/api/alarms/{id}/ack': post('Acknowledge ({comment?}) — stops escalation'),
    '/api/alarms/{id}/assign': post('Assign ({assignee})'),
    '/api/alarms/{id}/comment': post('Comment ({text})'),
    '/api/alarms/{id}/clear': post('Clear by hand ({comment?})'),
    '/api/rules': { put: { summary: 'Replace the alarm rules ({baseVersion?, rules}) after validating them → new version, published retained for ingest', responses: { ...ok('{version, rules, updatedBy, updatedAt}'), 400: { description: 'invalid rules (names rule and field)' }, 409: { description: 'baseVersion is stale' } } } },
    '/api/rules/validate': { post: { summary: 'Validate a rule set ({rules}) without storing it', responses: { ...ok('{ok, count}'), 400: { description: 'errors naming the rule and field' } } } },
    '/api/notify/esms/callback': { post: { summary: 'eSMS delivery receipt (?token=)', responses: ok('ok') } },
    '/api/notify/sms/inbound': { post: { summary: 'SMS reply (MO) "OK <id>" acknowledges (?token=)', responses: ok('ok') } },
    '/api/notify/zalo/webhook': { post: { summary: 'Zalo OA webhook: replies acknowledge, receipts mark delivered (signed)', responses: ok('ok') } },
  };
}
