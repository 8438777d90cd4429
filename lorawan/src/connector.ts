import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { Counter, Gauge } from 'prom-client';
import {
  cityModelSchema,
  commandSchema,
  topics,
  type CityModel,
  type Command,
  type GatewayEvent,
  type GatewayHealth,
} from '@tamky/protocol';
import { createLogger, createMetricsRegistry, loadConfigFile, serveMetrics, type Logger } from '@tamky/service-kit';
import { Forwarder, MqttUplink, Outbox } from '@tamky/edge';
import {
  ackEventSchema,
  eventsFilter,
  joinEventSchema,
  logEventSchema,
  parseEventTopic,
  radioOf,
  statusEventSchema,
  txAckEventSchema,
  uplinkEventSchema,
  type UplinkEvent,
} from './chirpstack/events';
import { connectorConfigSchema, type ConnectorConfigInput } from './config';
import { Downlinks } from './downlinks';
import { UplinkLedger } from './ledger';
import { DEFAULT_CODECS_DIR, ProfileSet, profilesFileSchema } from './profiles';
import { RadioHealth } from './radio';
import { followRegistry, LorawanDevices } from './registry';

export const VERSION = '0.1.0';

export interface ConnectorOptions {
  /** The registry to start from (else config.registry.cityFile). */
  city?: CityModel;
  logger?: Logger;
  now?: () => number;
}

export interface Connector {
  close(): Promise<void>;
  /** The current health report (also published every health interval). */
  health(): GatewayHealth;
  /** Replaces the registry (what the retained registry message does). */
  setCity(city: CityModel): void;
  outboxDepth(): number;
  /** Whether the subscription to ChirpStack's events is in place (events published before it may be lost on a first start). */
  subscribed(): boolean;
  metricsPort: number | undefined;
}

/**
 * The LoRaWAN connector: a virtual gateway. It takes ChirpStack's MQTT integration events, turns uplinks into
 * readings of our kinds committed to its own durable outbox (the edge gateway's), and forwards them to our
 * broker under its gateway id exactly as a wired gateway does; lamp commands sent to that gateway id become
 * confirmed downlinks. Why a gateway and not a part of ingest: docs/architecture.md.
 */
export async function startConnector(input: ConnectorConfigInput, options: ConnectorOptions = {}): Promise<Connector> {
  const config = connectorConfigSchema.parse(input);
  const log = options.logger ?? createLogger('lorawan');
  const now = options.now ?? Date.now;
  const startedAt = now();

  const profiles = new ProfileSet(
    loadConfigFile(config.profilesFile, profilesFileSchema).profiles,
    config.codecsDir ?? DEFAULT_CODECS_DIR,
    config.codecTimeoutMs,
  );
  const devices = new LorawanDevices(config.gatewayId);
  const initialCity = options.city ?? (config.registry.cityFile ? loadConfigFile(config.registry.cityFile, cityModelSchema) : undefined);
  const setCity = (city: CityModel) => {
    devices.update(city);
    for (const d of devices.all())
      if (!profiles.get(d.lorawan!.profile))
        log.warn(
          { device: d.id, profile: d.lorawan!.profile },
          'device names an unknown LoRaWAN profile: its uplinks will be dead letters',
        );
    log.info({ devices: devices.all().length }, 'registry loaded');
  };
  if (initialCity) setCity(initialCity);

  const registry = createMetricsRegistry('lorawan');
  const uplinksTotal = new Counter({
    name: 'lorawan_uplinks_total',
    help: 'ChirpStack uplink events by outcome (reading, dead-letter, redelivery, late-copy, invalid)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const eventsTotal = new Counter({
    name: 'lorawan_events_total',
    help: 'ChirpStack integration events received, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const downlinksTotal = new Counter({
    name: 'lorawan_downlinks_total',
    help: 'Confirmed downlinks by outcome (acked, nacked, timeout, publish-failed)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'lorawan_outbox_depth',
    help: 'Readings, events and results not yet acknowledged by our broker',
    registers: [registry],
    collect(this: Gauge) {
      this.set(outbox.depth());
    },
  });
  new Gauge({
    name: 'lorawan_downlinks_pending',
    help: 'Confirmed downlinks waiting for an ack',
    registers: [registry],
    collect(this: Gauge) {
      this.set(downlinks.pendingCount());
    },
  });

  const outbox = new Outbox(
    {
      path: config.outbox.path,
      maxReadings: config.outbox.maxReadings,
      maxAgeMs: config.outbox.maxAgeMs,
      synchronous: config.outbox.synchronous,
      now,
    },
    log.child({ part: 'outbox' }),
  );
  const ledger = new UplinkLedger(outbox, config.lateCopyWindowMs);
  const radio = new RadioHealth();

  // Assigned below (closures above refer to it); undefined until then.
  let forwarder: Forwarder | undefined = undefined;
  const kick = () => forwarder?.kick();

  // Assigned below (closures above refer to it); undefined until then.
  let chirpstack: MqttClient | undefined = undefined;
  const publishDown = (topic: string, payload: string) =>
    new Promise<void>((resolve, reject) => {
      if (!chirpstack?.connected) return reject(new Error('not connected'));
      chirpstack.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
    });
  const downlinks = new Downlinks(
    outbox,
    config.gatewayId,
    publishDown,
    (outcome) => {
      downlinksTotal.inc({ outcome });
      kick();
    },
    now,
    log.child({ part: 'downlinks' }),
  );

  const event = (e: Omit<GatewayEvent, 'gateway' | 'seq'>) => outbox.addMessage('event', { gateway: config.gatewayId, seq: 0, ...e });

  const onUplink = (up: UplinkEvent) => {
    const ts = Date.parse(up.time);
    const devEui = up.deviceInfo.devEui;
    const device = devices.byDevEui(devEui);
    const outcome = ledger.once({ dedupId: up.deduplicationId, devEui, devAddr: up.devAddr, fCnt: up.fCnt, ts }, () => {
      const deadLetter = (reason: string) => {
        event({
          ...(device ? { device: device.id } : {}),
          ts,
          type: 'lorawan_dead_letter',
          detail: {
            reason,
            devEui,
            fCnt: up.fCnt,
            fPort: up.fPort,
            data: up.data,
            deduplicationId: up.deduplicationId,
            ...(up.object ? { object: up.object } : {}),
          },
        });
        if (device) radio.error(device, ts, reason, true);
        log.warn({ devEui, device: device?.id, fCnt: up.fCnt, reason }, 'uplink dead-lettered');
        return 'dead-letter' as const;
      };
      if (!device) return deadLetter(`DevEUI ${devEui} is not a LoRaWAN device of ${config.gatewayId} in the registry`);
      const profile = profiles.get(device.lorawan!.profile);
      if (!profile) return deadLetter(`unknown LoRaWAN profile "${device.lorawan!.profile}"`);
      if (profile.kind !== device.kind)
        return deadLetter(`profile ${device.lorawan!.profile} decodes ${profile.kind}, the device is ${device.kind}`);
      const decoded = profiles.decode(device, profile, {
        bytes: Buffer.from(up.data, 'base64'),
        fPort: up.fPort,
        recvTime: up.time,
        ...(up.object ? { object: up.object } : {}),
      });
      if (!decoded.ok) return deadLetter(decoded.reason);
      outbox.addReadings([{ device: device.id, ts, vals: JSON.stringify(decoded.values) }]);
      radio.uplink(device, ts, up.fCnt, radioOf(up));
      return 'reading' as const;
    });
    uplinksTotal.inc({ outcome });
    if (outcome === 'redelivery' || outcome === 'late-copy') log.debug({ devEui, fCnt: up.fCnt, outcome }, 'duplicate uplink ignored');
  };

  /**
   * Runs synchronously inside mqtt.js's 'message' event, which it emits before it sends the PUBACK: so
   * ChirpStack's broker lets go of an event only after what it produced is committed to the outbox.
   */
  const onChirpstackMessage = (topic: string, payload: Buffer) => {
    const t = parseEventTopic(topic);
    if (!t) return;
    eventsTotal.inc({ type: t.type });
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      json = undefined;
    }
    try {
      const device = devices.byDevEui(t.devEui);
      if (t.applicationId !== '+') downlinks.noteApplication(t.devEui, t.applicationId);
      switch (t.type) {
        case 'up': {
          const up = uplinkEventSchema.safeParse(json);
          if (!up.success) {
            uplinksTotal.inc({ outcome: 'invalid' });
            event({
              ...(device ? { device: device.id } : {}),
              ts: now(),
              type: 'lorawan_dead_letter',
              detail: {
                reason: `not a ChirpStack uplink event: ${up.error.issues[0]?.message}`,
                devEui: t.devEui,
                raw: payload.toString('utf8').slice(0, 4096),
              },
            });
            break;
          }
          onUplink(up.data);
          break;
        }
        case 'status': {
          const s = statusEventSchema.safeParse(json);
          if (s.success && device)
            radio.status(
              device,
              Date.parse(s.data.time),
              s.data.externalPowerSource || s.data.batteryLevelUnavailable ? null : s.data.batteryLevel,
            );
          break;
        }
        case 'join': {
          const j = joinEventSchema.safeParse(json);
          if (j.success && device) {
            const ts = Date.parse(j.data.time);
            radio.join(device, ts);
            event({ device: device.id, ts, type: 'lorawan_join', detail: { devEui: t.devEui, devAddr: j.data.devAddr } });
          }
          break;
        }
        case 'ack': {
          const a = ackEventSchema.safeParse(json);
          if (a.success) downlinks.onAck(a.data);
          break;
        }
        case 'txack': {
          const a = txAckEventSchema.safeParse(json);
          if (a.success) downlinks.onTxAck(a.data);
          break;
        }
        case 'log': {
          const l = logEventSchema.safeParse(json);
          if (l.success && device && l.data.level !== 'INFO')
            radio.error(device, Date.parse(l.data.time), `ChirpStack ${l.data.code}: ${l.data.description}`, false);
          break;
        }
      }
    } catch (err) {
      // A failed commit (disk full, closed outbox) must not ack the event: leaving ChirpStack's broker
      // without a PUBACK makes it redeliver after we reconnect.
      log.error({ err: (err as Error).message, topic }, 'cannot commit ChirpStack event: reconnecting without acking it');
      chirpstack?.end(true);
      setTimeout(() => chirpstack?.reconnect(), 1000).unref();
      return;
    }
    kick();
  };

  const onCommand = (payload: Buffer) => {
    let cmd: Command;
    try {
      cmd = commandSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch {
      const idGuess = (() => {
        try {
          return String((JSON.parse(payload.toString('utf8')) as { id?: unknown }).id ?? '');
        } catch {
          return '';
        }
      })();
      if (idGuess) downlinks.refuse(idGuess, 'invalid command');
      kick();
      return;
    }
    const refuse = (why: string) => {
      downlinks.refuse(cmd.id, why);
      kick();
    };
    if (cmd.type !== 'write_register') return refuse(`${cmd.type} is not possible over LoRaWAN: devices speak on their own schedule`);
    const device = devices.byDeviceId(cmd.device);
    if (!device) return refuse(`device ${cmd.device} is not a LoRaWAN device of ${config.gatewayId}`);
    const profile = profiles.get(device.lorawan!.profile);
    if (!profile?.downlink) return refuse(`device ${cmd.device} takes no commands (profile ${device.lorawan!.profile})`);
    const encoded = profiles.encode(profile, cmd.field, cmd.value);
    if (!encoded.ok) return refuse(encoded.reason);
    const applicationId =
      downlinks.applicationOf(device.lorawan!.devEui) ??
      (config.chirpstack.applicationIds[0] !== '+' ? config.chirpstack.applicationIds[0] : undefined);
    if (!applicationId) return refuse('ChirpStack application of the device unknown (no event from it yet)');
    void downlinks.send(
      { commandId: cmd.id, device: device.id, devEui: device.lorawan!.devEui, field: cmd.field, value: cmd.value },
      { applicationId, bytes: encoded.bytes, fPort: encoded.fPort, ackTimeoutMs: profile.downlink.ackTimeoutMs },
    );
  };

  const uplink = new MqttUplink(
    config,
    { onConnect: () => forwarder?.onConnect(), onDisconnect: () => forwarder?.onDisconnect(), onCommand },
    log.child({ part: 'mqtt' }),
    VERSION,
    now,
  );
  forwarder = new Forwarder(
    outbox,
    uplink,
    {
      gatewayId: config.gatewayId,
      batchSize: config.outbox.batchSize,
      maxInflight: config.outbox.maxInflight,
      replayPerSecond: config.outbox.replayPerSecond,
    },
    log.child({ part: 'forwarder' }),
  );
  uplink.start();

  const ca = config.chirpstack.caFile ? readFileSync(config.chirpstack.caFile) : undefined;
  chirpstack = mqtt.connect(config.chirpstack.url, {
    clientId: config.chirpstack.clientId,
    username: config.chirpstack.username,
    password: config.chirpstack.password,
    keepalive: config.chirpstack.keepaliveS,
    clean: false,
    reconnectPeriod: 2000,
    // A refused CONNACK ("server unavailable" while a broker is busy) ends mqtt.js's retries unless this is set.
    reconnectOnConnackError: true,
    ...(ca ? { ca } : {}),
  });
  let subscribed = false;
  chirpstack.on('connect', (ack) => {
    log.info({ url: config.chirpstack.url, sessionPresent: ack.sessionPresent }, 'connected to ChirpStack');
    chirpstack!.subscribe(
      config.chirpstack.applicationIds.map((a) => eventsFilter(a)),
      { qos: 1 },
      (err) => {
        if (err) log.error({ err: err.message }, 'cannot subscribe to ChirpStack events');
        else subscribed = true;
      },
    );
  });
  chirpstack.on('error', (err) => log.warn({ err: err.message }, 'ChirpStack connection error'));
  chirpstack.on('message', onChirpstackMessage);

  const registryFollower = config.registry.mqtt
    ? followRegistry(config.registry.mqtt, setCity, log.child({ part: 'registry' }))
    : undefined;

  const health = (): GatewayHealth => {
    const stats = outbox.stats();
    return {
      gateway: config.gatewayId,
      ts: now(),
      uptimeS: (now() - startedAt) / 1000,
      version: VERSION,
      configHash: 'lorawan',
      cpuPct: 0,
      rssBytes: process.memoryUsage().rss,
      // Disk space and readings lost before the outbox are not measured by the connector (a server, not a box).
      diskFreeBytes: null,
      diskTotalBytes: null,
      outbox: { ...stats, notDurable: 0 },
      devices: radio.report(devices.all()),
    };
  };
  const ticker = setInterval(() => {
    try {
      downlinks.expire();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'downlink expiry failed');
    }
  }, 1000);
  const healthTimer = setInterval(() => {
    try {
      outbox.pruneByAge();
      ledger.prune(now() - config.ledgerRetentionMs);
      if (uplink.connected) uplink.publish(topics.health(config.gatewayId), JSON.stringify(health())).catch(() => undefined);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'health report failed');
    }
  }, config.health.intervalMs);

  const metricsServer = config.metrics ? await serveMetrics([registry], config.metrics.port, config.metrics.host) : undefined;
  log.info(
    { gatewayId: config.gatewayId, outboxDepth: outbox.depth(), profiles: Object.keys(profiles.profiles).length },
    'LoRaWAN connector started',
  );

  let closed = false;
  return {
    metricsPort: metricsServer?.port,
    health,
    setCity,
    outboxDepth: () => outbox.depth(),
    subscribed: () => subscribed,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(ticker);
      clearInterval(healthTimer);
      // Stop taking events first (unacked ones stay with ChirpStack's broker), then drain what we can.
      await chirpstack?.endAsync().catch(() => undefined);
      await registryFollower?.close();
      forwarder?.stop();
      await uplink.close();
      await metricsServer?.close();
      outbox.close();
      log.info('LoRaWAN connector stopped');
    },
  };
}
