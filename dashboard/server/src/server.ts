import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import compression from 'compression';
import express from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import { z } from 'zod';
import { filters, liveReadingsSchema, parseGatewayTopic, topics, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger, createMetricsRegistry, loadConfigFile, loadLimits, type Logger } from '@tamky/service-kit';
import { dashboardConfigSchema, userSeedSchema, type DashboardConfig } from './config';
import type { Core } from './core';
import type { AlarmCounts, DashboardModule, LiveChannel, ModuleContext } from './module';
import { CORE_MIGRATIONS, migrate, openStateDb } from './state-db';
import { createAuditLog } from './audit';
import { createAccounts } from './auth/accounts';
import { createSessions } from './auth/sessions';
import { createGuard } from './auth/guard';
import { createKioskVerifier } from './auth/kiosk';
import { createFailureLimiter } from './auth/rate-limit';
import { authRoutes } from './auth/routes';
import { createGatewayTracker, type GatewayView } from './gateways/tracker';
import { createCommandLog } from './gateways/commands';
import { gatewayRoutes } from './gateways/routes';
import { readingRoutes } from './readings/routes';
import { adminRoutes } from './admin/routes';
import { recipientRoutes } from './admin/recipient-routes';
import { createRegistryStore } from './registry/registry-store';
import { registryRoutes } from './registry/routes';
import { createNotifyDirectory } from './notify/directory';
import { errorHandler, sendError } from './http/errors';
import { securityHeaders } from './http/security-headers';
import { mountRoutes, openApiPath, type RouteSpec } from './http/route-table';
import { buildOpenApi } from './http/openapi';
import { startLiveHub, type LiveHub } from './live/hub';
import { connectMqtt } from './mqtt/link';
import { topicMatches } from './mqtt/topic-match';

export interface DashboardHandle {
  close(): Promise<void>;
  port: number;
  url: string;
}

export interface DashboardOptions {
  store: TimeSeriesStore;
  city: CityModel;
  modules?: DashboardModule[];
  logger?: Logger;
  now?: () => number;
}

const CORE_SUBSCRIPTIONS = [filters.allStatus, filters.allHealth, filters.allCommandResults, filters.allEvents, filters.live];
const NO_ALARMS: AlarmCounts = { critical: 0, major: 0, minor: 0, warning: 0 };

export async function startDashboard(input: DashboardConfig, opts: DashboardOptions): Promise<DashboardHandle> {
  const config = dashboardConfigSchema.parse(input);
  const logger = opts.logger ?? createLogger('dashboard');
  const now = opts.now ?? Date.now;
  const modules = opts.modules ?? [];
  // First, before anything is opened: an invalid limits file refuses the start (ConfigError naming file and field).
  const limits = loadLimits(resolve(config.limitsDir));

  const db = openStateDb(config.stateDb);
  migrate(db, CORE_MIGRATIONS);
  const audit = createAuditLog(db, now);
  const accounts = createAccounts(db, now);
  const seeds = [...config.users];
  if (config.usersFile) seeds.push(...loadConfigFile(config.usersFile, z.object({ users: z.array(userSeedSchema) })).users);
  const added = accounts.seed(seeds);
  if (added) logger.info({ added }, 'seeded accounts from config');
  const sessions = createSessions(db, config.session.ttlHours * 3_600_000, now);
  sessions.purgeExpired();
  const guard = createGuard(sessions);
  const registry = createRegistryStore(db, opts.city, now);
  if (registry.start === 'seeded') logger.info({ devices: opts.city.devices.length }, 'device registry seeded from the city file');
  else if (registry.start === 'file-updated') logger.info({ version: registry.current().version }, 'city file changed and the registry was never edited here: the file is the new version');
  else if (registry.start === 'db-wins') logger.warn({ version: registry.current().version, by: registry.current().updatedBy }, 'city file differs from the registry edited in the dashboard; the dashboard version stays (edit it there)');
  const notifyDirectory = createNotifyDirectory(db, now, logger);

  // Metrics
  const metrics = createMetricsRegistry('dashboard');
  const httpDuration = new Histogram({ name: 'dashboard_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'], registers: [metrics], buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] });
  const mqttMessages = new Counter({ name: 'dashboard_mqtt_messages_total', help: 'MQTT messages received by topic kind', labelNames: ['kind'], registers: [metrics] });
  const mqttInvalid = new Counter({ name: 'dashboard_mqtt_invalid_messages_total', help: 'MQTT messages rejected as malformed', labelNames: ['kind'], registers: [metrics] });
  const wsMetrics = {
    clients: new Gauge({ name: 'dashboard_ws_clients', help: 'Connected WebSocket clients', registers: [metrics] }),
    sent: new Counter({ name: 'dashboard_ws_frames_sent_total', help: 'WebSocket frames sent', registers: [metrics] }),
    dropped: new Counter({ name: 'dashboard_ws_frames_dropped_total', help: 'Live frames dropped for slow WebSocket clients', labelNames: ['channel'], registers: [metrics] }),
  };
  const commandsSent = new Counter({ name: 'dashboard_commands_sent_total', help: 'Commands published to gateways', registers: [metrics] });

  // Started with the HTTP server below; broadcasts before that go nowhere.
  let hub: LiveHub | undefined = undefined;
  const broadcast = (channel: LiveChannel, message: unknown) => hub?.broadcast(channel, message);
  const gatewayMessage = (v: GatewayView) => ({ type: 'gateway', gateway: { id: v.id, state: v.state, lastSeen: v.lastSeen, health: v.health } });
  const gateways = createGatewayTracker(db, registry.current().city, now, logger, (v) => broadcast('gateways', gatewayMessage(v)));
  const commands = createCommandLog(db, now);

  const alarmCounts = (ward: string): AlarmCounts => {
    const provider = modules.find((m) => m.overviewAlarmCounts);
    if (provider) return provider.overviewAlarmCounts!(ward);
    return countAlarmsTable(db, ward);
  };

  // MQTT: messages wait for `modulesReady`, so no module sees a message before its tables exist.
  let markReady!: () => void;
  const modulesReady = new Promise<void>((r) => (markReady = r));
  const moduleFilters = modules.flatMap((m) => (m.subscriptions ?? []).map((f) => ({ m, f })));
  const onMessage = async (topic: string, payload: Buffer) => {
    await modulesReady;
    handleCoreMessage(topic, payload);
    for (const { m, f } of moduleFilters) {
      if (!m.onMqttMessage || !topicMatches(f, topic)) continue;
      try {
        await m.onMqttMessage(topic, payload);
      } catch (err) {
        logger.error({ err, module: m.name, topic }, 'module failed to handle mqtt message');
      }
    }
  };
  const handleCoreMessage = (topic: string, payload: Buffer) => {
    const gw = parseGatewayTopic(topic);
    if (gw) {
      mqttMessages.inc({ kind: gw.kind });
      let ok = true;
      if (gw.kind === 'status') ok = gateways.onStatus(gw.gatewayId, payload);
      else if (gw.kind === 'health') ok = gateways.onHealth(gw.gatewayId, payload);
      else if (gw.kind === 'event') ok = gateways.onEvent(gw.gatewayId, payload) !== null;
      else if (gw.kind === 'cmd-result') {
        const rec = commands.onResult(gw.gatewayId, payload);
        gateways.seen(gw.gatewayId);
        if (rec) broadcast('gateways', { type: 'command', command: { id: rec.id, gateway: rec.gateway, result: rec.result } });
      }
      if (!ok) {
        mqttInvalid.inc({ kind: gw.kind });
        logger.warn({ topic, bytes: payload.length }, 'ignored malformed gateway message');
      }
      return;
    }
    const channel = topic === topics.liveReadings() ? 'readings' : topic === topics.liveDerived() ? 'derived' : undefined;
    if (!channel) return;
    mqttMessages.inc({ kind: `live-${channel}` });
    let data: unknown;
    try {
      data = JSON.parse(payload.toString('utf8'));
    } catch {
      data = undefined;
    }
    const parsed = liveReadingsSchema.safeParse(data);
    if (!parsed.success) {
      mqttInvalid.inc({ kind: `live-${channel}` });
      return;
    }
    broadcast(channel, { type: channel, readings: parsed.data.readings });
    if (channel === 'readings') for (const g of new Set(parsed.data.readings.map((r) => r.gateway))) if (gateways.get(g)) gateways.seen(g);
  };

  const link = await connectMqtt({
    url: config.mqtt.url,
    clientId: config.mqtt.clientId,
    ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
    subscriptions: [...new Set([...CORE_SUBSCRIPTIONS, ...moduleFilters.map((x) => x.f)])],
    logger,
    onMessage,
  }).catch((err) => {
    db.close();
    throw err;
  });
  const mqttPublish = async (topic: string, payload: unknown, o?: { qos?: 0 | 1; retain?: boolean }) => {
    await link.publish(topic, payload, o);
    if (topic.endsWith('/cmd')) commandsSent.inc();
  };

  const core: Core = {
    config, db, store: opts.store,
    get city() {
      return registry.current().city;
    },
    registry,
    notifyDirectory, logger, now, accounts, sessions, guard, audit, gateways, commands, limits, modules,
    loginLimits: {
      user: createFailureLimiter(config.login.maxFailures, config.login.windowMinutes * 60_000, now),
      address: createFailureLimiter(config.login.maxFailuresPerAddress, config.login.windowMinutes * 60_000, now),
    },
    verifyKioskToken: createKioskVerifier(config.kioskTokens),
    mqttPublish,
    alarmCounts,
    disconnectUser: (username, keepSessionId) => hub?.disconnectUser(username, keepSessionId),
  };
  const ctx: ModuleContext = {
    db, logger, notifyDirectory,
    get city() {
      return registry.current().city;
    }, now, publicUrl: config.http.publicUrl,
    requireRole: (role) => guard.requireRole(role),
    audit: (user, action, detail) => audit.write(user, action, detail),
    broadcast,
    mqttPublish,
  };

  // HTTP
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.http.trustProxy);
  app.use(securityHeaders(config.session.secureCookies));
  // A day of history for a ward is megabytes of JSON; technicians read it over mobile data.
  app.use(compression());
  app.use((req, res, next) => {
    const end = httpDuration.startTimer();
    res.on('finish', () => end({ method: req.method, route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'other', status: String(res.statusCode) }));
    next();
  });
  app.get('/healthz', (_req, res) => {
    const mqttUp = link.client.connected;
    res.status(mqttUp ? 200 : 503).json({ ok: mqttUp, mqtt: mqttUp ? 'connected' : 'disconnected', wsClients: hub?.clientCount() ?? 0 });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.contentType);
    res.send(await metrics.metrics());
  });

  const api = express.Router();
  api.use(express.json({ limit: '1mb' }));
  api.use(guard.loadSession);
  // Modules first: a module may take over a core path (e.g. /api/rules) by declaring it in its openapi.
  const moduleRouter = express.Router();
  for (const m of modules) m.routes?.(moduleRouter, ctx);
  api.use(moduleRouter);
  const taken = new Set(modules.flatMap((m) => Object.entries(m.openapi ?? {}).flatMap(([p, item]) => Object.keys(item as object).map((method) => `${method} ${p}`))));
  const routes: RouteSpec[] = [...authRoutes(core), ...readingRoutes(core), ...gatewayRoutes(core), ...adminRoutes(core), ...recipientRoutes(core), ...registryRoutes(core, registry)].filter((r) => !taken.has(`${r.method} ${openApiPath(r.path)}`));
  const openapi = buildOpenApi(routes, modules, [
    { method: 'get', path: '/api/openapi.json', summary: 'This document', produces: 'application/json' },
    { method: 'get', path: '/healthz', summary: 'Liveness: 200 when the MQTT link is up, else 503', produces: 'application/json' },
    { method: 'get', path: '/metrics', summary: 'Prometheus metrics', produces: 'text/plain' },
  ]);
  api.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  mountRoutes(api, guard, routes);
  api.use((req, res) => sendError(res, 404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`));
  app.use('/api', api);
  mountWebApp(app, config.webDist, logger);
  app.use(errorHandler(logger));

  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  hub = startLiveHub({
    server,
    path: '/ws',
    pingIntervalMs: config.ws.pingIntervalMs,
    maxBufferedBytes: config.ws.maxBufferedBytes,
    now,
    logger,
    metrics: wsMetrics,
    authenticate: async (req) => {
      const kiosk = new URL(req.url ?? '/', 'http://localhost').searchParams.get('kiosk');
      if (kiosk) {
        const name = await core.verifyKioskToken(kiosk);
        return name ? { username: `kiosk:${name}`, displayName: name, role: 'viewer' } : null;
      }
      const found = guard.sessionFromRequest(req);
      return found ? { ...found.session.user, sessionId: found.id } : null;
    },
  });

  try {
    for (const m of modules) await m.start?.(ctx);
  } catch (err) {
    await hub.close();
    await link.close();
    db.close();
    throw err;
  }
  markReady();

  // The registry is the dashboard's to publish: ingest and gateways read it retained (payload: the CityModel
  // exactly as the protocol schema defines it). Published on every (re)connect too, so a broker that lost its
  // retained messages gets the current version back.
  const publishRegistry = () => {
    const { version, city } = registry.current();
    mqttPublish(topics.configRegistry(), city, { qos: 1, retain: true }).then(
      () => logger.info({ version, devices: city.devices.length }, 'registry published'),
      (err) => logger.warn({ err, version }, 'could not publish the registry (published again on reconnect)'),
    );
  };
  registry.onChange((v) => {
    gateways.setCity(v.city);
    publishRegistry();
    // Open pages (wall screens run for days) refetch /api/city instead of showing the old registry.
    broadcast('gateways', { type: 'registry', version: v.version });
  });
  link.client.on('connect', publishRegistry);
  publishRegistry();

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  logger.info({ url, modules: modules.map((m) => m.name) }, 'dashboard listening');

  const purgeTimer = setInterval(() => sessions.purgeExpired(), 3_600_000);
  purgeTimer.unref();
  // Another dashboard process sharing the state DB may save the registry or recipients: follow it.
  const followTimer = setInterval(() => {
    try {
      registry.refresh();
      notifyDirectory.refresh();
    } catch (err) {
      logger.warn({ err }, 'could not check the state DB for newer registry/recipients');
    }
  }, config.stateDbPollMs);
  followTimer.unref();

  let closed = false;
  return {
    port,
    url,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purgeTimer);
      clearInterval(followTimer);
      await hub!.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await link.close();
      for (const m of [...modules].reverse()) {
        try {
          await m.close?.();
        } catch (err) {
          logger.error({ err, module: m.name }, 'module failed to close');
        }
      }
      db.close();
    },
  };
}

/** Serves the built web app; routes of the single-page app (/wall, /gateways/…) get index.html. */
function mountWebApp(app: express.Express, webDist: string | undefined, logger: Logger): void {
  if (!webDist) return;
  const dir = resolve(webDist);
  const index = join(dir, 'index.html');
  if (!existsSync(index)) logger.warn({ dir }, 'web app not built (no index.html): only the API is served');
  app.use(express.static(dir, { index: false, maxAge: '1h', setHeaders: (res, path) => path.endsWith('.html') && res.setHeader('Cache-Control', 'no-cache') }));
  app.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path.startsWith('/api/') || req.path === '/ws' || /\.[a-z0-9]+$/i.test(req.path)) return next();
    if (!existsSync(index)) return sendError(res, 503, 'web_not_built', 'the web app has not been built: npm run build:web');
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}

/** Open alarms per severity in a ward from an `alarms` table (state, severity, ward columns), if the alarms module created one. */
function countAlarmsTable(db: import('better-sqlite3').Database, ward: string): AlarmCounts {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarms'").get();
  if (!exists) return { ...NO_ALARMS };
  try {
    const rows = db.prepare("SELECT severity, COUNT(*) AS n FROM alarms WHERE ward = ? AND state != 'cleared' GROUP BY severity").all(ward) as Array<{ severity: string; n: number }>;
    const counts = { ...NO_ALARMS };
    for (const r of rows) if (r.severity in counts) counts[r.severity as keyof AlarmCounts] = r.n;
    return counts;
  } catch {
    return { ...NO_ALARMS };
  }
}
