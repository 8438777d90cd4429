import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Registry } from 'prom-client';
import { createLogger, createMetricsRegistry, loadConfigFile, serveMetrics, type Logger } from '@tamky/service-kit';
import { brokerConfigSchema, credentialsSchema, type BrokerConfig, type Credentials } from './config';
import { connectionInfo, setConnectionInfo } from './connection-info';
import { CredentialStore } from './credentials';
import { createAuthenticate } from './handlers/authenticate';
import { ackAfterEnqueue, skipRepublish } from './ack-after-enqueue';
import { assertTestedVersions, connectedClients, emitterOf, isDraining, persistenceOf, routingQueueLength } from './aedes-adapter';
import { keepPacketIdsUnique, markResendsDuplicate } from './packet-ids';
import { deliverOncePerMessage } from './delivery-order';
import { pipelineSessionResend } from './session-resend';
import { dropReservedTopicPublishes } from './reserved-topics';
import { zeroLengthClientIds } from './client-ids';
import { checkConnect, checkTopicFilter, checkTopicName } from './packet-rules';
import { createAuthorizePublish } from './handlers/authorize-publish';
import { createAuthorizeSubscribe } from './handlers/authorize-subscribe';
import { describeIdentity, identityFor, identityOf } from './identity';
import { captureWill, discardStoredWill, dropUnattributedWills } from './wills';
import { forgetSessionAuth, rememberSessionAuth, secretNoLongerValid } from './session-credentials';
import { createLogLimiter } from './log-limiter';
import { guardParser } from './limits/packet-size';
import { TokenBucket } from '@tamky/service-kit';
import { batchWritesPerTurn } from './limits/write-batching';
import { useFifoQueues } from './limits/mq-queue';
import { boundOfflineQueues, dropLogger } from './limits/offline-queue';
import { startTcpListener, startTlsListener, startWsListener, type AcceptConnection, type Listener } from './listeners';
import { createBrokerMetrics } from './metrics';
import { brokerSelfReport } from './self-watch';
import { topics } from '@tamky/protocol';
import { createSharedState } from './persistence';

export interface BrokerHandle {
  close(): Promise<void>;
  ports: { mqtt: number; ws?: number; tls?: number; metrics?: number };
  /** Refuses future connects of this gateway (until enableGateway) and disconnects its live connections. */
  disableGateway(id: string): void;
  enableGateway(id: string): void;
  /**
   * Re-reads `credentialsFile` (or takes new inline credentials) and disconnects clients whose entry was
   * removed or disabled. Throws on an invalid file, keeping the previous credentials.
   */
  reloadCredentials(credentials?: Credentials): void;
  /** Re-reads the TLS certificate, key and CA for new connections. Throws (keeping the old ones) if they are invalid. */
  reloadTls(): void;
  metrics: Registry;
  aedes: Aedes;
}

/** Sockets beyond the authenticated limit are allowed briefly so CONNACK 3 can say "server unavailable". */
const PENDING_SOCKET_SLACK = 1.1;

export async function startBroker(input: BrokerConfig, opts: { logger?: Logger } = {}): Promise<BrokerHandle> {
  assertTestedVersions();
  const config = brokerConfigSchema.parse(input);
  const log = opts.logger ?? createLogger('broker');
  const { limits } = config;

  const readCredentials = (): Credentials =>
    config.credentialsFile
      ? loadConfigFile(config.credentialsFile, credentialsSchema)
      : (config.credentials ?? credentialsSchema.parse({}));
  const store = new CredentialStore(readCredentials());
  if (config.profile === 'production' && store.size === 0)
    log.warn('production profile with no credentials: every connection will be refused');

  // Live traffic figures, read at scrape time.
  const sockets = new Set<Socket>();
  let closedBytesIn = 0;
  let closedBytesOut = 0;
  // Assigned below (the metrics above read it at scrape time); undefined until then.
  let aedes: Aedes | undefined = undefined;
  let offlineDepth = () => 0;
  const clients = () => connectedClients(aedes);

  const registry = createMetricsRegistry('broker');
  const metrics = createBrokerMetrics(registry, {
    connectedClients: () => {
      const byKind = { gateway: 0, service: 0, anonymous: 0 };
      for (const c of clients()) {
        const who = identityOf(c);
        if (who && c.connected) byKind[who.kind]++;
      }
      return byKind;
    },
    subscriberBufferedBytes: () => clients().reduce((sum, c) => sum + ((c.conn as Socket).writableLength ?? 0), 0),
    stalledSubscribers: () => clients().filter(isDraining).length,
    offlineQueued: () => offlineDepth(),
    mqQueued: () => routingQueueLength(aedes),
    bytesIn: () => {
      let live = 0;
      for (const s of sockets) live += s.bytesRead;
      return closedBytesIn + live;
    },
    bytesOut: () => {
      let live = 0;
      for (const s of sockets) live += s.bytesWritten;
      return closedBytesOut + live;
    },
  });
  const messagesOut = metrics.messagesOut;

  const publishBuckets = new WeakMap<Client, TokenBucket>();
  const auth = createAuthenticate({
    broker: () => aedes!,
    profile: config.profile,
    store,
    limits,
    metrics,
    log,
    onAuthenticated(client, identity, authWith) {
      deliverOncePerMessage(client);
      rememberSessionAuth(client, authWith, (expired) => {
        if (expired.closed) return;
        metrics.refusals.inc({ reason: 'secret-expired' });
        log.warn(
          { reason: 'secret-expired', who: describeIdentity(identityOf(expired)), clientId: expired.id },
          'secret expired; disconnecting',
        );
        expired.close();
      });
      if (identity.kind !== 'service')
        publishBuckets.set(client, new TokenBucket(limits.publishesPerSecond, limits.publishBurst ?? limits.publishesPerSecond * 2));
      log.info({ who: describeIdentity(identity), clientId: client.id, clean: client.clean }, 'client authenticated');
    },
  });

  const clientIds = zeroLengthClientIds((client) => {
    metrics.refusals.inc({ reason: 'client-id-mismatch' });
    log.warn(
      { reason: 'client-id-mismatch', remoteAddress: connectionInfo(client).remoteAddress },
      'connection refused: zero-length client id without a clean session',
    );
  });
  const malformed = (client: Client, what: string) => {
    metrics.refusals.inc({ reason: 'malformed-packet' });
    log.warn(
      { reason: 'malformed-packet', what, clientId: client.id, remoteAddress: connectionInfo(client).remoteAddress },
      'malformed packet; disconnecting',
    );
  };
  const authorizePublish = checkTopicName(
    dropReservedTopicPublishes(
      createAuthorizePublish({
        metrics,
        log,
        bucketOf: (c) => publishBuckets.get(c),
        identityOfOwner: (name) => {
          const entry = store.lookup(name);
          return entry && !store.isDisabled(name) ? identityFor(entry) : undefined;
        },
        discardWill: (packet) => void discardStoredWill(persistenceOf(aedes!), packet),
      }),
      (client, topic) => {
        metrics.refusals.inc({ reason: 'reserved-topic' });
        log.warn(
          { reason: 'reserved-topic', who: describeIdentity(identityOf(client)), clientId: client.id, topic },
          'publish to a reserved ($) topic acknowledged and dropped',
        );
      },
    ),
    malformed,
  );
  // Sockets per remote address that have not sent CONNECT yet: released at CONNECT (preConnect) or on close.
  const pendingByAddress = new Map<string, number>();
  const releasePending = new WeakMap<Client, () => void>();
  const pendingLog = createLogLimiter();

  const shared = createSharedState(config);
  aedes = await Aedes.createBroker({
    heartbeatInterval: config.heartbeatIntervalMs,
    preConnect: checkConnect((client, packet, callback) => {
      releasePending.get(client)?.();
      // The client id first (a zero-length one is assigned), then the will, which is stamped with its owner.
      clientIds.preConnect(client, packet, (err, ok) => {
        if (!err && ok) captureWill(client, packet);
        callback(err, ok);
      });
    }, malformed),
    ...(config.nodeId ? { id: config.nodeId } : {}),
    ...(shared.persistence ? { persistence: shared.persistence } : {}),
    ...(shared.mq ? { mq: shared.mq } : {}),
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    maxTopicLevels: limits.maxTopicLevels,
    maxClientsIdLength: 128,
    authenticate: clientIds.authenticate(auth.authenticate),
    authorizePublish: ackAfterEnqueue(() => aedes!, authorizePublish),
    authorizeSubscribe: checkTopicFilter(createAuthorizeSubscribe({ metrics, log }), (client, filter) => {
      metrics.refusals.inc({ reason: 'subscribe-not-allowed' });
      log.warn({ reason: 'invalid-topic-filter', clientId: client.id, filter }, 'subscription refused: invalid topic filter');
    }),
    authorizeForward: (_client, packet) => {
      messagesOut.inc();
      return packet;
    },
  });
  const broker = aedes;
  useFifoQueues(emitterOf(broker));
  keepPacketIdsUnique(persistenceOf(broker));
  markResendsDuplicate(persistenceOf(broker));
  pipelineSessionResend(broker, limits.resendWindow);
  skipRepublish(broker);
  const logDrop = dropLogger(log);
  const offlineQueues = boundOfflineQueues(persistenceOf(broker), limits.maxOfflineMessages, (clientId) => {
    metrics.refusals.inc({ reason: 'offline-queue-full' });
    logDrop(clientId);
  });
  offlineDepth = () => offlineQueues.depth();

  // aedes reports failures with no client to blame (its will sweep, routing) as 'error' events; unheard, one
  // would take the process down.
  (broker as unknown as EventEmitter).on('error', (err: Error & { alreadyReported?: boolean }) => {
    if (err.alreadyReported) log.debug({ err: err.message }, 'broker error (already reported)');
    else log.error({ err }, 'broker error');
  });
  // Wills an older broker stored without checking them must never fire (wills.ts).
  try {
    const dropped = await dropUnattributedWills(persistenceOf(broker), (will) => {
      metrics.refusals.inc({ reason: 'will-unattributed' });
      log.warn({ reason: 'will-unattributed', clientId: will.clientId, topic: will.topic }, 'stored will has no checked owner; discarded');
    });
    if (dropped) log.warn({ dropped }, 'discarded stored wills that no identity answers for');
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await shared.close();
    throw err;
  }

  broker.on('clientError', (client, err) => {
    if ((err as { alreadyReported?: boolean }).alreadyReported) return;
    if (err.message === 'drain timeout') {
      metrics.refusals.inc({ reason: 'slow-subscriber' });
      metrics.disconnects.inc({ reason: 'slow-subscriber' });
      log.warn({ clientId: client.id, who: describeIdentity(identityOf(client)) }, 'subscriber did not drain in time; disconnected');
    } else {
      log.info({ clientId: client.id, who: describeIdentity(identityOf(client)), err: err.message }, 'client error; disconnected');
    }
  });
  broker.on('connectionError', (client, err) => {
    if (err.message === 'connect did not arrive in time') {
      metrics.refusals.inc({ reason: 'connect-timeout' });
      const { remoteAddress } = connectionInfo(client);
      pendingLog(`connect-timeout|${remoteAddress}`, (suppressed) =>
        log.info(
          { reason: 'connect-timeout', remoteAddress, ...(suppressed ? { suppressedSinceLast: suppressed } : {}) },
          'no CONNECT in time; socket closed',
        ),
      );
      return;
    }
    log.debug({ err: err.message }, 'connection failed before CONNECT completed');
  });
  broker.on('clientDisconnect', (client) => {
    forgetSessionAuth(client);
    log.debug({ clientId: client.id }, 'client disconnected');
  });

  let guardMissingLogged = false;
  const accept: AcceptConnection = (stream, info, rawSocket, req) => {
    // Idle sockets from one address must not fill the connection slots before they even try to authenticate.
    const address = info.remoteAddress;
    const pending = pendingByAddress.get(address) ?? 0;
    if (pending >= limits.maxPendingSocketsPerAddress) {
      metrics.refusals.inc({ reason: 'pre-connect-sockets' });
      pendingLog(`pre-connect-sockets|${address}`, (suppressed) =>
        log.warn(
          {
            reason: 'pre-connect-sockets',
            remoteAddress: address,
            limit: limits.maxPendingSocketsPerAddress,
            ...(suppressed ? { suppressedSinceLast: suppressed } : {}),
          },
          'too many sockets without CONNECT from one address; closed',
        ),
      );
      stream.destroy();
      rawSocket.destroy();
      return;
    }
    pendingByAddress.set(address, pending + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (pendingByAddress.get(address) ?? 1) - 1;
      if (left > 0) pendingByAddress.set(address, left);
      else pendingByAddress.delete(address);
    };
    rawSocket.once('close', release);
    sockets.add(rawSocket);
    rawSocket.once('close', () => {
      sockets.delete(rawSocket);
      closedBytesIn += rawSocket.bytesRead;
      closedBytesOut += rawSocket.bytesWritten;
    });
    try {
      batchWritesPerTurn(stream);
      const client = broker.handle(stream, req);
      setConnectionInfo(client, info);
      releasePending.set(client, release);
      const guarded = guardParser(client, limits.maxPacketBytes, {
        tooLarge: (declared) => {
          metrics.refusals.inc({ reason: 'packet-too-large' });
          log.warn(
            { reason: 'packet-too-large', declared, limit: limits.maxPacketBytes, clientId: client.id, remoteAddress: info.remoteAddress },
            'packet too large; disconnecting',
          );
        },
        malformed: (err) => {
          metrics.refusals.inc({ reason: 'malformed-packet' });
          log.warn(
            { reason: 'malformed-packet', err: err.message, clientId: client.id, remoteAddress: info.remoteAddress },
            'malformed packet; disconnecting',
          );
        },
      });
      if (!guarded && !guardMissingLogged) {
        guardMissingLogged = true;
        log.error('cannot enforce maxPacketBytes: the aedes client has no mqtt-packet parser (aedes internals changed)');
      }
    } catch (err) {
      // One bad connection must never take the broker down.
      log.error({ err, remoteAddress: info.remoteAddress }, 'could not accept connection');
      stream.destroy();
    }
  };

  const maxSockets = Math.ceil(limits.maxConnections * PENDING_SOCKET_SLACK);
  const listeners: Listener[] = [];
  const metricsServer = { current: undefined as undefined | { port: number; close(): Promise<void> } };
  try {
    listeners.push(await startTcpListener(config.listeners.mqtt, maxSockets, accept));
    if (config.listeners.tls) listeners.push(await startTlsListener(config.listeners.tls, maxSockets, accept));
    if (config.listeners.ws) listeners.push(await startWsListener(config.listeners.ws, maxSockets, limits.maxPacketBytes + 8, accept));
    if (config.metrics) metricsServer.current = await serveMetrics([registry], config.metrics.port, config.metrics.host);
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await shared.close();
    throw err;
  }

  const ports: BrokerHandle['ports'] = { mqtt: listeners.find((l) => l.name === 'mqtt')!.port };
  for (const l of listeners) if (l.name !== 'mqtt') ports[l.name] = l.port;
  if (metricsServer.current) ports.metrics = metricsServer.current.port;
  log.info(
    { profile: config.profile, ports, persistence: shared.describe, cluster: Boolean(config.cluster), id: broker.id },
    'broker listening',
  );

  const watch = config.selfWatch;
  const certificates = [...(config.listeners.tls ? [config.listeners.tls.cert] : []), ...watch.certificates];
  const publishSelfReport = () => {
    const live = clients().filter((c) => c.connected);
    const report = brokerSelfReport({
      service: watch.service,
      ts: Date.now(),
      connected: live.length,
      maxConnections: limits.maxConnections,
      queues: offlineQueues.perClient(),
      online: new Set(live.map((c) => c.id)),
      certificates,
      log,
    });
    const packet = {
      cmd: 'publish' as const,
      topic: topics.systemHealth(watch.service),
      payload: Buffer.from(JSON.stringify(report)),
      qos: 0 as const,
      retain: false,
      dup: false,
    };
    broker.publish(packet, (err) => {
      if (err) log.warn({ err }, 'could not publish the broker health report');
    });
  };
  const watchTimer = watch.enabled ? setInterval(publishSelfReport, watch.intervalMs) : undefined;
  watchTimer?.unref();

  const disconnectWhere = (match: (c: Client) => boolean) => {
    for (const c of clients()) if (match(c)) c.close();
  };

  let closed: Promise<void> | undefined;
  return {
    ports,
    metrics: registry,
    aedes: broker,
    disableGateway(id) {
      store.disable(id);
      log.warn({ gatewayId: id }, 'gateway disabled; disconnecting it');
      disconnectWhere((c) => {
        const who = identityOf(c);
        return who?.kind === 'gateway' && who.gatewayId === id;
      });
    },
    enableGateway(id) {
      store.enable(id);
      log.info({ gatewayId: id }, 'gateway enabled');
    },
    reloadTls() {
      for (const l of listeners) l.reload?.();
      if (config.listeners.tls) log.info('TLS certificate reloaded');
    },
    reloadCredentials(credentials) {
      store.replace(credentials ? credentialsSchema.parse(credentials) : readCredentials());
      log.info({ entries: store.size }, 'credentials reloaded');
      // A gateway removed, disabled or re-keyed in the new set must not stay connected on its old authentication.
      disconnectWhere((c) => {
        const who = identityOf(c);
        if (!who || who.kind === 'anonymous') return false;
        const name = who.kind === 'gateway' ? who.gatewayId : who.username;
        const entry = store.lookup(name);
        return !entry || store.isDisabled(name) || secretNoLongerValid(c, entry);
      });
    },
    close() {
      closed ??= (async () => {
        clearInterval(watchTimer);
        auth.close();
        // Stop accepting first, then let aedes close every client (wills are published), then shared state.
        const stopping = listeners.map((l) => l.close());
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await Promise.all(stopping);
        await metricsServer.current?.close();
        await shared.close();
        log.info('broker stopped');
      })();
      return closed;
    },
  };
}
