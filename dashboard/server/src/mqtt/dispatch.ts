import { filters, liveReadingsSchema, parseGatewayTopic, topics } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { CommandLog } from '../gateways/commands';
import type { GatewayTracker } from '../gateways/tracker';
import type { DashboardMetrics } from '../http/metrics';
import type { DashboardModule, LiveChannel } from '../module';
import { topicMatches } from './topic-match';

const CORE_SUBSCRIPTIONS = [filters.allStatus, filters.allHealth, filters.allCommandResults, filters.allEvents, filters.live];

/**
 * What the dashboard does with each MQTT message: gateway status, health, events and command results go to
 * the tracker and command log, live readings to the WebSocket hub, then every module subscribed to the topic.
 * Messages wait until `modulesStarted()`, so no module sees a message before its tables exist.
 */
export function createMqttDispatch(opts: {
  modules: DashboardModule[];
  logger: Logger;
  gateways: GatewayTracker;
  commands: CommandLog;
  broadcast: (channel: LiveChannel, message: unknown) => void;
  metrics: DashboardMetrics;
}): { subscriptions: string[]; onMessage(topic: string, payload: Buffer): Promise<void>; modulesStarted(): void } {
  const { modules, logger, gateways, commands, broadcast, metrics } = opts;
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
      metrics.mqttMessages.inc({ kind: gw.kind });
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
        metrics.mqttInvalid.inc({ kind: gw.kind });
        logger.warn({ topic, bytes: payload.length }, 'ignored malformed gateway message');
      }
      return;
    }
    const channel = topic === topics.liveReadings() ? 'readings' : topic === topics.liveDerived() ? 'derived' : undefined;
    if (!channel) return;
    metrics.mqttMessages.inc({ kind: `live-${channel}` });
    let data: unknown;
    try {
      data = JSON.parse(payload.toString('utf8'));
    } catch {
      data = undefined;
    }
    const parsed = liveReadingsSchema.safeParse(data);
    if (!parsed.success) {
      metrics.mqttInvalid.inc({ kind: `live-${channel}` });
      return;
    }
    broadcast(channel, { type: channel, readings: parsed.data.readings });
    if (channel === 'readings') for (const g of new Set(parsed.data.readings.map((r) => r.gateway))) if (gateways.get(g)) gateways.seen(g);
  };

  return {
    subscriptions: [...new Set([...CORE_SUBSCRIPTIONS, ...moduleFilters.map((x) => x.f)])],
    onMessage,
    modulesStarted: () => markReady(),
  };
}
