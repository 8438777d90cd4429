import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { topics, type ClockMark, type GatewayHealth } from '@tamky/protocol';
import { createLogger, fleetPublicKey, serveMetrics, type Logger } from '@tamky/service-kit';
import { GatewayClock, syncedWhileFileExists, type ClockStep } from './clock';
import { runCommand } from './commands';
import type { GatewayConfig } from './config';
import type { ReadingValues } from './devices/types';
import { startField, type FieldSide } from './field';
import { ConfigPush } from './fleet/config-push';
import { stateFileOf } from './fleet/state';
import { Updater } from './fleet/update';
import { buildHealth, cpuSampler } from './health';
import { gatewayMetrics } from './metrics';
import { Forwarder } from './outbox/forwarder';
import { Outbox } from './outbox/outbox';
import { PACKAGE_DIR } from './package-dir';
import { MqttUplink } from './uplink/mqtt-uplink';

export const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;

export interface GatewayOptions {
  logger?: Logger;
  /** The gateway's wall clock (default Date.now; the fault harness steps its own). */
  now?: () => number;
  /** Re-reads and validates the config for reload_config (the CLI passes its file loader). */
  reloadConfig?: () => GatewayConfig | Promise<GatewayConfig>;
  /**
   * A new release is installed and `current` points to it: close and exit with RESTART_EXIT_CODE so the launcher
   * starts it (the CLI does). Without it, software updates are refused.
   */
  restartIntoNewRelease?: () => void;
}

export interface Gateway {
  close(): Promise<void>;
  readNow(deviceId?: string): Promise<void>;
  outboxDepth(): number;
  /** The health report as it would be published now (for tests, the CLI and local diagnostics). */
  health(): GatewayHealth;
}

export function configHash(config: GatewayConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

/**
 * The edge gateway: polls the field buses, commits every reading to the durable outbox, forwards the
 * outbox to the broker, reports health and answers commands.
 */
export async function startGateway(fileConfig: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const log = opts.logger ?? createLogger('edge');
  const wall = opts.now ?? Date.now;
  const config = fileConfig;
  let file = fileConfig;

  const outbox = new Outbox(
    {
      path: config.outbox.path,
      maxReadings: config.outbox.maxReadings,
      maxAgeMs: config.outbox.maxAgeMs,
      synchronous: config.outbox.synchronous,
      now: wall,
    },
    log.child({ part: 'outbox' }),
  );
  // Assigned below (closures above refer to it); undefined until then.
  let forwarder: Forwarder | undefined = undefined;

  const clock = new GatewayClock({
    wall,
    stepMs: config.clock.stepMs,
    ...(config.clock.syncedFile ? { synced: syncedWhileFileExists(config.clock.syncedFile) } : {}),
    ...outbox.clockState(),
  });
  // Rows an earlier run left may have been published before it stopped: they keep their time.
  const publishedBeforeStart = outbox.maxSeq();
  /** The wall clock, read through the step check: every time stamped here is on a known offset (clock.ts). */
  const now = () => {
    const step = clock.check();
    if (step) onClockStep(step);
    return wall();
  };
  const startedAt = wall();

  const addEvent = (device: string | undefined, type: string, detail: Record<string, unknown>) => {
    outbox.addMessage('event', { gateway: config.gatewayId, ...(device ? { device } : {}), ts: now(), type, detail });
    forwarder?.kick();
  };

  // Readings produced in the same event-loop turn are committed in one transaction (one fsync with
  // synchronous=FULL, which matters on SD cards); nothing is published before that commit.
  let pending: Array<{ device: string; ts: number; vals: string; clock?: ClockMark; era: number }> = [];
  /** Readings lost because the outbox could not commit them: reported in health, never silently. */
  let notDurable = 0;
  const outboxStats = () => ({ ...outbox.stats(), notDurable });
  const flush = () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    try {
      outbox.addReadings(batch, { era: clock.era, lastTs: clock.lastTs });
    } catch (err) {
      notDurable += batch.length;
      log.error({ err: (err as Error).message, readings: batch.length, notDurable }, 'cannot commit readings to the outbox');
      return;
    }
    forwarder?.kick();
  };

  const sinks = {
    onReading(deviceId: string, ts: number, values: ReadingValues) {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ device: deviceId, ...clock.place(deviceId, ts), vals: JSON.stringify(values) });
    },
    onEvent: (deviceId: string, type: string, detail: Record<string, unknown>) => addEvent(deviceId, type, detail),
    onBusEvent: (busId: string, type: string, detail: string) => addEvent(undefined, type, { bus: busId, detail }),
  };

  /**
   * The wall clock stepped: readings not yet published move onto the new clock (the offset is known
   * exactly), marked corrected; a published one keeps its time, so a resend of it is the same reading.
   */
  function onClockStep(step: ClockStep): void {
    let moved: Array<[string, number]> = [];
    try {
      moved = outbox.moveUnsent(Math.max(publishedBeforeStart, forwarder?.highestSent ?? 0), step.deltaMs, step.era);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot correct the outbox after a clock step');
    }
    for (const p of pending) {
      p.ts += step.deltaMs;
      p.clock = 'corrected';
      p.era = step.era;
      moved.push([p.device, p.ts]);
    }
    clock.noteMoved(moved);
    log.warn({ deltaMs: step.deltaMs, era: step.era, corrected: moved.length }, 'the clock stepped');
    outbox.addMessage('event', {
      gateway: config.gatewayId,
      ts: wall(),
      type: 'clock_step',
      detail: { deltaMs: step.deltaMs, era: step.era },
    });
    forwarder?.kick();
  }

  // Assigned right below (the push's callbacks refer to it).
  let field: FieldSide | undefined = undefined;
  const fieldSide = () => field!;
  const push = new ConfigPush({
    gatewayId: config.gatewayId,
    stateFile: stateFileOf(config.outbox.path),
    publicKey: config.fleet ? fleetPublicKey(readFileSync(config.fleet.publicKeyFile)) : undefined,
    deadlineMs: config.fleet?.configDeadlineMs ?? 60_000,
    fileConfig: () => file,
    restartField: async (next) => {
      await field?.close();
      field = startField(next, sinks, log.child({ part: 'field' }), now);
    },
    deviceHealth: () => field?.health() ?? [],
    event: (type, detail) => addEvent(undefined, type, detail),
    log: log.child({ part: 'config-push' }),
    now,
  });
  field = startField(push.startupConfig(), sinks, log.child({ part: 'field' }), now);

  const installRoot = config.fleet?.installRoot ?? process.env['TAMKY_GATEWAY_ROOT'];
  const updater =
    config.fleet && installRoot && opts.restartIntoNewRelease
      ? new Updater({
          root: installRoot,
          publicKey: push.publicKey,
          ca: config.fleet.caFile ? readFileSync(config.fleet.caFile) : undefined,
          version: VERSION,
          gatewayId: config.gatewayId,
          event: (type, detail) => addEvent(undefined, type, detail),
          requestRestart: opts.restartIntoNewRelease,
          log: log.child({ part: 'update' }),
          now,
        })
      : undefined;
  const fleetHealth = () => {
    const h = push.health();
    const software = updater?.lastRollback() ?? null;
    return software && (!h.rollback || software.ts >= h.rollback.ts) ? { ...h, rollback: software } : h;
  };
  const hash = () => configHash(push.running);

  const reload = () => push.exclusive(reloadNow);
  const reloadNow = async () => {
    if (!opts.reloadConfig) throw new Error('reload_config is not available: the gateway was not started from a config file');
    const nextFile = await opts.reloadConfig();
    const fixed = ['gatewayId', 'mqtt', 'outbox', 'fleet'] as const;
    const changed = fixed.filter((k) => JSON.stringify(nextFile[k]) !== JSON.stringify(file[k]));
    if (changed.length) throw new Error(`reload_config cannot change ${changed.join(', ')}: restart the gateway`);
    const next = push.withFile(nextFile);
    await fieldSide().close();
    field = startField(next, sinks, log.child({ part: 'field' }), now);
    file = nextFile;
    push.running = next;
    log.info({ configHash: hash() }, 'configuration reloaded');
    return { devices: next.devices.filter((d) => d.enabled).length, configHash: hash() };
  };

  const setPollInterval = (device: string, intervalMs: number) => {
    fieldSide().setPollInterval(device, intervalMs);
    push.setPollInterval(device, intervalMs);
  };

  const commandResult = (payload: Buffer) => {
    void runCommand(payload, { gatewayId: config.gatewayId, field: fieldSide, reload, setPollInterval, now, log })
      .then((result) => {
        outbox.addMessage('cmd-result', result);
        forwarder?.kick();
      })
      .catch((err: Error) => log.error({ err: err.message }, 'command handling failed'));
  };

  const uplink = new MqttUplink(
    config,
    {
      onConnect: () => {
        forwarder?.onConnect();
        updater?.confirmHealthy();
      },
      onDisconnect: () => forwarder?.onDisconnect(),
      onCommand: commandResult,
      ...(config.fleet ? { onConfig: (payload: Buffer) => void push.onPush(payload) } : {}),
      ...(updater ? { onRelease: (payload: Buffer) => updater.onAnnouncement(payload) } : {}),
    },
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

  const cpu = cpuSampler();
  const health = () =>
    buildHealth({
      gatewayId: config.gatewayId,
      ts: now(),
      startedAt,
      version: VERSION,
      configHash: hash(),
      cpuPct: cpu(),
      outboxPath: config.outbox.path,
      outbox: outboxStats(),
      devices: fieldSide().health(),
      clock: clock.state(),
      fleet: fleetHealth(),
    });
  const healthTimer = setInterval(() => {
    try {
      outbox.pruneByAge();
      if (!uplink.connected) return;
      uplink.publish(topics.health(config.gatewayId), JSON.stringify(health())).catch(() => undefined);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'health report failed');
    }
  }, config.health.intervalMs);

  const metricsServer = config.metrics
    ? await serveMetrics(
        [
          gatewayMetrics({
            outbox: outboxStats,
            devices: () => fieldSide().health(),
            connected: () => uplink.connected,
            published: () => forwarder?.published ?? 0,
          }),
        ],
        config.metrics.port,
        config.metrics.host,
      )
    : undefined;

  log.info(
    {
      gatewayId: config.gatewayId,
      version: VERSION,
      configHash: hash(),
      configVersion: push.health().configVersion,
      outboxDepth: outbox.depth(),
    },
    'gateway started',
  );

  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(healthTimer);
      await fieldSide().close();
      flush();
      forwarder?.stop();
      await uplink.close();
      await metricsServer?.close();
      outbox.close();
      log.info('gateway stopped');
    },
    readNow: async (deviceId) => {
      await fieldSide().readNow(deviceId);
      flush(); // resolved means committed
    },
    outboxDepth: () => outbox.depth(),
    health,
  };
}
