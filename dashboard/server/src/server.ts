import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import compression from 'compression';
import express from 'express';
import { z } from 'zod';
import { topics, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger, loadConfigFile, loadLimits, type Logger } from '@tamky/service-kit';
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
import { wsAuthenticator } from './live/ws-auth';
import { createMqttDispatch } from './mqtt/dispatch';
import { connectMqtt } from './mqtt/link';
import { countAlarmsTable } from './overview/alarm-counts';
import { createDashboardMetrics, httpTiming } from './http/metrics';
import { mountWebApp } from './http/web-app';

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

  const metrics = createDashboardMetrics();

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

  const dispatch = createMqttDispatch({ modules, logger, gateways, commands, broadcast, metrics });

  const link = await connectMqtt({
    url: config.mqtt.url,
    clientId: config.mqtt.clientId,
    ...(config.mqtt.username ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password ? { password: config.mqtt.password } : {}),
    subscriptions: dispatch.subscriptions,
    logger,
    onMessage: dispatch.onMessage,
  }).catch((err) => {
    db.close();
    throw err;
  });
  const mqttPublish = async (topic: string, payload: unknown, o?: { qos?: 0 | 1; retain?: boolean }) => {
    await link.publish(topic, payload, o);
    if (topic.endsWith('/cmd')) metrics.commandsSent.inc();
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
  app.use(httpTiming(metrics));
  app.get('/healthz', (_req, res) => {
    const mqttUp = link.client.connected;
    res.status(mqttUp ? 200 : 503).json({ ok: mqttUp, mqtt: mqttUp ? 'connected' : 'disconnected', wsClients: hub?.clientCount() ?? 0 });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
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
    metrics: metrics.ws,
    authenticate: wsAuthenticator(guard, core.verifyKioskToken),
  });

  try {
    for (const m of modules) await m.start?.(ctx);
  } catch (err) {
    await hub.close();
    await link.close();
    db.close();
    throw err;
  }
  dispatch.modulesStarted();

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
