import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import express from 'express';
import { z } from 'zod';
import { openApiAnswerSchema, topics, type CityModel, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger, fleetPrivateKey, loadConfigFile, loadLimits, type Logger } from '@tamky/service-kit';
import { dashboardConfigSchema, userSeedSchema, type DashboardConfig } from './config';
import type { Core } from './core';
import type { AlarmCounts, DashboardModule, LiveChannel, ModuleContext } from './module';
import { CORE_MIGRATIONS, migrate, openStateDb } from './state-db';
import { createAuditLog } from './audit';
import { compressAnswers } from './http/compression';
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
import { securityHeaders, securityHeaderValues } from './http/security-headers';
import { mountRoutes, type RouteSpec } from './http/route-table';
import { buildOpenApi } from './http/openapi';
import { createProxyTrust } from './http/client-address';
import { metricsEndpoint } from './http/metrics-endpoint';
import { startLiveHub, type LiveHub } from './live/hub';
import { wsAuthenticator } from './live/ws-auth';
import { narrowToWards } from './live/ward-filter';
import { createMqttDispatch } from './mqtt/dispatch';
import { connectMqtt } from './mqtt/link';
import { DASHBOARD_SERVICE, dashboardSelfReport } from './self-watch';
import { countAlarmsTable } from './overview/alarm-counts';
import { createDashboardMetrics, httpTiming } from './http/metrics';
import { mountWebApp } from './http/web-app';
import { createBootAnswers } from './http/boot-answers';
import { createTokenStore } from './tokens/token-store';
import { createTokenAuth } from './tokens/token-auth';
import { tokenRoutes } from './tokens/routes';
import { reportRoutes } from './reports/routes';
import { deliveryConfigSchema, startReportDelivery, type ReportDelivery } from './reports/delivery';
import { checkReportFont, DEFAULT_REPORT_FONT } from './reports/pdf';
import { createPublicSite } from './public/routes';
import { influxCompatRouter } from './influxql/routes';
import { ngsiLdRouter } from './ngsi-ld/routes';
import { aqiLevel } from './overview/limits';
import { loadMapData } from './map/map-data';
import { mapRoutes } from './map/routes';
import { createFleetConfigPush } from './fleet/config-push';
import { createRollouts, type Rollouts } from './fleet/rollout';
import { fleetRoutes } from './fleet/routes';

export interface DashboardHandle {
  close(): Promise<void>;
  port: number;
  url: string;
  /** Where /metrics is served when `metrics.port` gives it a listener of its own. */
  metricsUrl?: string;
  /** The route table this instance mounted (core and modules), each route with its request and answer schemas. */
  routes: readonly RouteSpec[];
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
  const deliveryConfig = config.reports?.deliveryFile
    ? loadConfigFile(resolve(config.reports.deliveryFile), deliveryConfigSchema)
    : undefined;
  const reportFont = config.reports?.font ?? DEFAULT_REPORT_FONT;
  if (deliveryConfig) checkReportFont(reportFont);
  const mapData = loadMapData(config.map, opts.city, limits);
  const fleetKey = config.fleet ? fleetPrivateKey(readFileSync(config.fleet.signingKeyFile)) : undefined;

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
  else if (registry.start === 'file-updated')
    logger.info(
      { version: registry.current().version },
      'city file changed and the registry was never edited here: the file is the new version',
    );
  else if (registry.start === 'db-wins')
    logger.warn(
      { version: registry.current().version, by: registry.current().updatedBy },
      'city file differs from the registry edited in the dashboard; the dashboard version stays (edit it there)',
    );
  const notifyDirectory = createNotifyDirectory(db, now, logger);
  const apiTokens = createTokenStore(db, now);
  const tokenAuth = createTokenAuth({ tokens: apiTokens, audit, now });

  const metrics = createDashboardMetrics();

  // Started with the HTTP server below; broadcasts before that go nowhere.
  let hub: LiveHub | undefined = undefined;
  const broadcast = (channel: LiveChannel, message: unknown) => hub?.broadcast(channel, message);
  const gatewayMessage = (v: GatewayView) => ({
    type: 'gateway',
    gateway: { id: v.id, state: v.state, lastSeen: v.lastSeen, health: v.health },
  });
  // Created once MQTT publishing is set up below; a rollout moves on with what gateways report.
  let rollouts: Rollouts | undefined = undefined;
  const gateways = createGatewayTracker(db, registry.current().city, now, logger, (v) => {
    broadcast('gateways', gatewayMessage(v));
    rollouts?.onHealth();
  });
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
  if (config.fleet && fleetKey)
    rollouts = createRollouts({
      db,
      key: fleetKey,
      releasesDir: config.fleet.releasesDir ? resolve(config.fleet.releasesDir) : undefined,
      releaseBaseUrl: config.fleet.releaseBaseUrl ?? config.http.publicUrl,
      deadlineMs: config.fleet.deadlineMs,
      city: () => registry.current().city,
      health: (id) => gateways.get(id)?.health ?? null,
      publish: mqttPublish,
      audit: (user, action, detail) => audit.write(user, action, detail),
      changed: (id, stage) => broadcast('gateways', { type: 'rollout', id, stage }),
      logger,
      now,
    });

  const core: Core = {
    config,
    db,
    store: opts.store,
    get city() {
      return registry.current().city;
    },
    registry,
    notifyDirectory,
    logger,
    now,
    accounts,
    sessions,
    guard,
    audit,
    gateways,
    commands,
    limits,
    modules,
    loginLimits: {
      user: createFailureLimiter(config.login.maxFailures, config.login.windowMinutes * 60_000, now),
      address: createFailureLimiter(config.login.maxFailuresPerAddress, config.login.windowMinutes * 60_000, now),
    },
    verifyKioskToken: createKioskVerifier(config.kioskTokens),
    mqttPublish,
    alarmCounts,
    disconnectUser: (username, keepSessionId) => hub?.disconnectUser(username, keepSessionId),
    disconnectSession: (sessionId) => hub?.disconnectSession(sessionId),
  };
  const ctx: ModuleContext = {
    db,
    logger,
    notifyDirectory,
    get city() {
      return registry.current().city;
    },
    now,
    publicUrl: config.http.publicUrl,
    requireRole: (role) => guard.requireRole(role),
    users: () => accounts.listEnabled(),
    audit: (user, action, detail) => audit.write(user, action, detail),
    broadcast,
    mqttPublish,
  };

  // HTTP
  const app = express();
  app.disable('x-powered-by');
  const proxyTrust = createProxyTrust(config.http.trustedProxies);
  app.set('trust proxy', (address: string) => proxyTrust.trusts(address));
  app.use(securityHeaders(config.session.secureCookies, mapData.origins, config.public?.embedOrigins));
  app.use(compressAnswers());
  app.use(httpTiming(metrics));
  app.get('/healthz', (_req, res) => {
    const mqttUp = link.client.connected;
    res.status(mqttUp ? 200 : 503).json({ ok: mqttUp, mqtt: mqttUp ? 'connected' : 'disconnected', wsClients: hub?.clientCount() ?? 0 });
  });
  const metricsServer = await metricsEndpoint(app, metrics.registry, config.metrics);

  const publicSite = createPublicSite(core, mapData, {
    clientAddress: (req) => proxyTrust.clientAddress(req),
    headers: securityHeaderValues(config.session.secureCookies, mapData.origins, config.public?.embedOrigins)('/api/public'),
  });

  const api = express.Router();
  api.use(express.json({ limit: '1mb' }));
  api.use(guard.loadSession);
  // One table for the core's routes and the modules': a method and path declared twice is refused at mount.
  const routes: RouteSpec[] = [
    ...authRoutes(core),
    ...readingRoutes(core),
    ...gatewayRoutes(core),
    ...adminRoutes(core),
    ...recipientRoutes(core),
    ...registryRoutes(core, registry),
    ...(rollouts ? fleetRoutes(rollouts) : []),
    ...tokenRoutes(core, apiTokens),
    ...reportRoutes(core),
    ...publicSite.routes,
    ...mapRoutes(mapData),
    ...modules.flatMap((m) => m.routes?.(ctx) ?? []),
  ];
  // Signed-in callers only: the document lists which modules and routes this instance runs.
  let openapi: Record<string, unknown> = {};
  routes.push({
    method: 'get',
    path: '/openapi.json',
    access: 'any',
    wards: 'none',
    summary: 'This document',
    request: {},
    answer: openApiAnswerSchema,
    handler: () => openapi,
  });
  openapi = buildOpenApi(routes, [
    { method: 'get', path: '/healthz', summary: 'Liveness: 200 when the MQTT link is up, else 503', produces: 'application/json' },
    ...(config.metrics.token && config.metrics.port === undefined
      ? [{ method: 'get', path: '/metrics', summary: 'Prometheus metrics (Authorization: Bearer <metrics.token>)', produces: 'text/plain' }]
      : []),
  ]);
  try {
    mountRoutes(api, guard.requireRole, routes, tokenAuth);
  } catch (err) {
    await metricsServer?.close();
    await link.close();
    db.close();
    throw err;
  }
  api.use((req, res) => sendError(res, 404, 'not_found', `no route ${req.method} ${req.baseUrl}${req.path}`));
  app.use('/api', api);
  app.use(influxCompatRouter({ store: opts.store, guard, tokenAuth, database: config.influxql.database, now }));
  app.use(
    '/ngsi-ld/v1',
    ngsiLdRouter({
      store: opts.store,
      city: () => registry.current().city,
      guard,
      tokenAuth,
      aqiLevel: (v) => aqiLevel(limits.vnAqi, v).level,
      now,
    }),
  );
  mountWebApp(app, config.webDist, logger, createBootAnswers(routes, guard.sessionFromRequest));
  app.use(errorHandler(logger));

  // Residents' answers are served before express ever sees the request: a crowd costs a cache lookup each.
  const server = createServer((req, res) => {
    if (!publicSite.serve(req, res)) app(req, res);
  });
  server.keepAliveTimeout = 65_000;
  hub = startLiveHub({
    server,
    path: '/ws',
    pingIntervalMs: config.ws.pingIntervalMs,
    maxBufferedBytes: config.ws.maxBufferedBytes,
    now,
    logger,
    metrics: metrics.ws,
    narrow: (channel, message, wards) => narrowToWards(registry.current().city, channel, message, wards),
    authenticate: wsAuthenticator({
      guard,
      verifyKioskToken: core.verifyKioskToken,
      loginLimits: core.loginLimits,
      clientAddress: (req) => proxyTrust.clientAddress(req),
    }),
  });

  try {
    for (const m of modules) await m.start?.(ctx);
  } catch (err) {
    await hub.close();
    await metricsServer?.close();
    await link.close();
    db.close();
    throw err;
  }
  dispatch.modulesStarted();

  // The registry is the dashboard's to publish: ingest and gateways read it retained (payload: the CityModel
  // exactly as the protocol schema defines it). Published on every (re)connect too, so a broker that lost its
  // retained messages gets the current version back.
  // Each gateway gets its own part of the registry, signed and versioned, on its retained config topic.
  const fleetPush = fleetKey ? createFleetConfigPush({ db, key: fleetKey, publish: mqttPublish, logger, now }) : undefined;
  const publishRegistry = () => {
    const { version, city } = registry.current();
    mqttPublish(topics.configRegistry(), city, { qos: 1, retain: true }).then(
      () => logger.info({ version, devices: city.devices.length }, 'registry published'),
      (err) => logger.warn({ err, version }, 'could not publish the registry (published again on reconnect)'),
    );
    void fleetPush?.pushAll(city).catch((err: Error) => logger.error({ err: err.message }, 'gateway configuration push failed'));
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

  let delivery: ReportDelivery | undefined;
  try {
    delivery = deliveryConfig ? startReportDelivery({ core, config: deliveryConfig, logger, font: reportFont }) : undefined;
  } catch (err) {
    await hub.close();
    await metricsServer?.close();
    await new Promise<void>((r) => server.close(() => r()));
    await link.close();
    db.close();
    throw err;
  }

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
  const selfWatchTimer = setInterval(() => {
    mqttPublish(topics.systemHealth(DASHBOARD_SERVICE), dashboardSelfReport(config.stateDb, now()), { qos: 0 }).catch((err: unknown) =>
      logger.debug({ err }, 'could not publish the dashboard health report'),
    );
  }, config.selfWatchMs);
  selfWatchTimer.unref();

  let closed = false;
  return {
    port,
    url,
    routes,
    ...(metricsServer
      ? {
          metricsUrl: `http://${config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host}:${metricsServer.port}/metrics`,
        }
      : {}),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purgeTimer);
      clearInterval(followTimer);
      clearInterval(selfWatchTimer);
      await delivery?.close();
      await hub!.close();
      await metricsServer?.close();
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
