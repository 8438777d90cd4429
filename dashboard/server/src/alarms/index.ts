import { existsSync } from 'node:fs';
import {
  alarmEventSchema,
  type AlarmEvent,
  filters,
  notificationsPageQuerySchema,
  notificationsPageSchema,
  providerCallbackAnswerSchema,
  providerCallbackBodySchema,
  ruleSetSchema,
  topics,
} from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';
import { migrate } from '../state-db';
import type { DashboardModule, ModuleContext } from '../module';
import { createNotifier, loadNotifyPolicy, type Notifier, type NotifyPolicy, type ChannelOverrides } from '../notify';
import type { Alarm, AlarmChange } from './model';
import { alarmRoutes } from './routes';
import { toApiAlarm } from './api-shape';
import { createAlarmMetrics } from './metrics';
import { createShelves, type Shelves } from './shelves';
import { createRuleRoles } from './rule-kinds';
import { DEFAULT_HEALTH, type HealthSettings } from './health';
import type { RouteSpec } from '../http/route-table';
import type { Registry } from 'prom-client';
import { ALARM_MIGRATIONS, createAlarmStore, type AlarmStore } from './store';
import { createServiceWatch, type ServiceWatchConfig } from './service-watch';

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
  /** A condition that comes back this soon after its alarm was cleared reopens that alarm (default 30 min; 0: never). */
  reopenWindowS?: number;
  /** New alarms of one rule this close together form one group at the desk (default 5 min; 0: no grouping). */
  burstWindowS?: number;
  /** Alarm-system health measures (operator positions, flood threshold, priority guide…). */
  health?: Partial<HealthSettings>;
  /** Services whose silence the dashboard alarms itself (ingest: its own detector goes down with it). Absent: none. */
  watchServices?: ServiceWatchConfig;
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
  let shelves: Shelves | undefined;
  let notifier: Notifier | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const metrics = createAlarmMetrics(() => ctx?.db);

  const need = () => {
    if (!ctx || !store || !shelves) throw new Error('alarms module used before start()');
    return { ctx, store, shelves };
  };
  const broadcastAlarm = (alarm: Alarm) => need().ctx.broadcast('alarms', { type: 'alarm', alarm: toApiAlarm(alarm) });
  let serviceWatch: ReturnType<typeof createServiceWatch> | undefined;
  const systemHealthPrefix = filters.allSystemHealth.split('+')[0]!;

  /** A detector's event (or the service watch's): the lifecycle change and the notifications it causes commit together. */
  function applyEvent(event: AlarmEvent): void {
    const { ctx, store } = need();
    const result = ctx.db.transaction(() => {
      const r = store.applyEvent(event);
      if (!r || !notifier) return r;
      if (r.change === 'cleared') notifier.plan(r.alarm, 'cleared');
      else if (r.notify && (r.change === 'raised' || r.change === 'reopened' || r.severityChanged)) notifier.plan(r.alarm, 'raised');
      for (const child of r.adopted) notifier.silence(child.id, 'explained by the gateway alarm');
      for (const freed of r.released) notifier.plan(freed, 'raised');
      return r;
    })();
    if (result) {
      metrics.changes.inc({ change: result.change });
      broadcastAlarm(result.alarm);
      for (const a of [...result.adopted, ...result.released]) broadcastAlarm(a);
    }
  }

  function changed(alarm: Alarm, change: AlarmChange, actor: string): void {
    const { ctx } = need();
    ctx.broadcast('alarms', { type: 'alarm', alarm: toApiAlarm(alarm) });
    metrics.changes.inc({ change });
    try {
      notifier?.plan(alarm, change);
    } catch (err) {
      ctx.logger.error({ err, alarm: alarm.id }, 'notification planning failed');
    }
    if (change === 'raised' || change === 'cleared')
      ctx.logger.info({ alarm: alarm.id, rule: alarm.ruleId, source: alarm.sourceId, change, actor }, 'alarm');
  }

  /** Alarms whose maintenance ended while they are still open are announced again (wall, desk, notifications). */
  function releaseShelves(): void {
    if (!ctx || !store) return;
    const c = ctx;
    const s = store;
    const released = c.db.transaction(() => {
      const alarms = s.releaseShelves(c.now());
      for (const a of alarms) if (a.state === 'active' && a.parentId === null) notifier?.plan(a, 'raised');
      return alarms;
    })();
    for (const a of released) broadcastAlarm(a);
  }

  async function tick(): Promise<void> {
    releaseShelves();
    serviceWatch?.tick();
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
    void c
      .mqttPublish(topics.configRules(), { version: 1, rules: set.rules }, { qos: 1, retain: true })
      .catch((err) => c.logger.warn({ err }, 'publishing seeded rules failed'));
  }

  const module: AlarmsModule = {
    name: 'alarms',
    subscriptions: config.watchServices?.services.length ? [filters.allAlarms, filters.allSystemHealth] : [filters.allAlarms],
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
      shelves = createShelves(c.db, c.now);
      store = createAlarmStore(c.db, c.now, {
        reopenWindowMs: (config.reopenWindowS ?? 1800) * 1000,
        burstWindowMs: (config.burstWindowS ?? 300) * 1000,
        ruleRole: createRuleRoles(c.db),
        shelves,
      });
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
      if (config.watchServices?.services.length) serviceWatch = createServiceWatch(config.watchServices, c.now, applyEvent);
      timer = setInterval(() => void tick().catch((err) => c.logger.error({ err }, 'notification tick failed')), config.tickMs ?? 1000);
      timer.unref();
    },
    async onMqttMessage(topic, payload) {
      const { ctx } = need();
      if (topic.startsWith(systemHealthPrefix)) return serviceWatch?.onReport(payload);
      let event;
      try {
        event = alarmEventSchema.parse(JSON.parse(payload.toString()));
      } catch (err) {
        metrics.invalid.inc();
        ctx.logger.warn({ err: (err as Error).message, topic }, 'invalid alarm event dropped');
        return;
      }
      // Lifecycle change and the notifications it causes commit together, before the broker gets its PUBACK.
      applyEvent(event);
    },
    routes(c) {
      const actions = {
        get store() {
          return need().store;
        },
        get shelves() {
          return need().shelves;
        },
        changed,
        releaseShelves,
        silenced(alarms: Alarm[]) {
          for (const a of alarms) {
            notifier?.silence(a.id, 'shelved for maintenance');
            broadcastAlarm(a);
          }
        },
        notifications: (id: number) => notifier?.notificationsFor(id) ?? [],
        health: { ...DEFAULT_HEALTH, ...config.health },
      };
      // Provider callbacks check their own token or signature: no session.
      const callback = (path: string, summary: string): RouteSpec => ({
        method: 'post',
        path,
        access: 'none',
        wards: 'none',
        summary,
        request: { body: providerCallbackBodySchema },
        answer: providerCallbackAnswerSchema,
        handler: (req, res) =>
          new Promise<void>((resolve, reject) => {
            res.once('finish', () => resolve());
            if (!notifier) return void res.status(404).json({ error: 'not_found', message: 'notifications are not configured' });
            notifier.handle(req, res, (err?: unknown) =>
              err ? reject(err) : (res.status(404).json({ error: 'not_found', message: 'no such callback' }), resolve()),
            );
          }),
      });
      return [
        ...alarmRoutes(c, actions),
        {
          method: 'get',
          path: '/admin/notifications',
          access: 'admin',
          wards: 'city',
          request: { query: notificationsPageQuerySchema },
          answer: notificationsPageSchema,
          summary:
            'Every notification, newest first: {configured, total, items:[{id, alarmId, recipient, channel, address, text, state, error, ts, step, attempts, providerId}]}',
          handler(req) {
            const limit = Math.min(500, Math.max(1, Number(req.query.limit) || 100));
            const offset = Math.max(0, Number(req.query.offset) || 0);
            if (!notifier) return { configured: false, total: 0, items: [] };
            return { configured: true, ...notifier.notificationsPage(limit, offset) };
          },
        },
        callback('/notify/esms/callback', 'eSMS delivery receipt (?token=)'),
        callback('/notify/sms/inbound', 'SMS reply (MO) "OK <id>" acknowledges (?token=)'),
        callback('/notify/zalo/webhook', 'Zalo OA webhook: replies acknowledge, receipts mark delivered (signed)'),
      ];
    },
    overviewAlarmCounts: (ward) => need().store.countsByWard(ward),
    async close() {
      if (timer) clearInterval(timer);
      ctx?.notifyDirectory?.detach();
      await ticking?.catch(() => undefined);
      await notifier?.close();
    },
  };
  return module;
}
