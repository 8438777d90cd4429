import mqtt from 'mqtt';
import { filters, systemHealthSchema, topics, type AlarmEvent, type SystemHealth } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { parseRulesMessage } from '@tamky/protocol';
import type { AlarmRule } from '@tamky/protocol';

export interface RulesFollower {
  /** Version of the rule set in force (0 until the retained message arrived). */
  version(): number;
  /** Publishes an alarm event on this connection (QoS 1): it stays up while ingest has left the broker. */
  publish(topic: string, event: AlarmEvent): Promise<void>;
  /**
   * Publishes ingest's own health report on topics.ingestHealth (QoS 0, on this connection for the same reason),
   * so that the dashboard notices when the reports stop: ingest down or hung.
   */
  announce(health: SystemHealth): void;
  close(): Promise<void>;
}

/** Rule-set versions count the dashboard's saves, one at a time. */
export const MAX_RULES_VERSION = 1_000_000;
/** Saves ingest may have missed while it was down, at most; a bigger jump is not an edit history. */
export const MAX_RULES_VERSION_STEP = 1_000;
/** How far ahead of this clock a rule set's `ts` may be (clock skew between hosts). */
const MAX_TS_AHEAD_MS = 10 * 60_000;

/**
 * Why a rule set cannot be a real save of the dashboard, or undefined. Accepting a huge version would make
 * every later (real) set look older and be ignored: alarms frozen on whatever came with it.
 */
export function implausibleRules(set: { version: number; ts?: number }, inForce: number, now: number): string | undefined {
  if (set.version > MAX_RULES_VERSION) return `version ${set.version} is beyond ${MAX_RULES_VERSION}`;
  if (inForce > 0 && set.version > inForce + MAX_RULES_VERSION_STEP) return `version jumps from ${inForce} to ${set.version}`;
  if (set.ts !== undefined) {
    if (!(set.ts > 0)) return `ts ${set.ts} is not a time`;
    if (set.ts > now + MAX_TS_AHEAD_MS) return `ts ${new Date(set.ts).toISOString()} is in the future`;
  }
  return undefined;
}

/**
 * Keeps a detector on the rule set the dashboard publishes retained on config/rules: the retained copy
 * arrives at connect, later edits as they are saved. A malformed, implausible or older set is ignored (all
 * but the older logged with the reason), so a bad edit can never leave the city without alarms.
 */
export async function followRules(opts: {
  url: string;
  clientId?: string;
  username?: string;
  password?: string;
  detector: { setRules(rules: AlarmRule[]): void; onSystemHealth?(health: SystemHealth, now: number): void };
  logger?: Logger;
}): Promise<RulesFollower> {
  let version = 0;
  const client = await mqtt.connectAsync(opts.url, {
    clientId: opts.clientId ?? `alarm-rules-${Math.random().toString(36).slice(2, 10)}`,
    username: opts.username,
    password: opts.password,
    reconnectPeriod: 1000,
    // A refused CONNACK ("server unavailable" while a broker is busy) ends mqtt.js's retries unless this is set.
    reconnectOnConnackError: true,
  });
  client.on('message', (topic, payload) => {
    if (topic !== topics.configRules()) return onSystemHealth(topic, payload);
    try {
      const set = parseRulesMessage(payload);
      const implausible = implausibleRules(set, version, Date.now());
      if (implausible) {
        opts.logger?.error(
          { topic, version: set.version, inForce: version, reason: implausible },
          'implausible alarm rules on config/rules rejected; keeping the previous set',
        );
        return;
      }
      if (set.version !== 0 && set.version <= version) return;
      opts.detector.setRules(set.rules);
      version = set.version;
      opts.logger?.info({ version, rules: set.rules.length }, 'alarm rules loaded');
    } catch (err) {
      opts.logger?.error({ err: (err as Error).message }, 'alarm rules on config/rules rejected; keeping the previous set');
    }
  });
  // Other services' reports of their own health (the broker's): the system alarm rules judge them.
  const onSystemHealth = (topic: string, payload: Buffer) => {
    if (!topic.startsWith(filters.allSystemHealth.split('+')[0]!) || !opts.detector.onSystemHealth) return;
    // Ingest instances' reports: each judges its own, handed over directly.
    if (topic === topics.ingestHealth()) return;
    try {
      const health = systemHealthSchema.parse(JSON.parse(payload.toString()));
      opts.detector.onSystemHealth(health, Date.now());
    } catch (err) {
      opts.logger?.warn({ topic, err: (err as Error).message }, 'system health report rejected');
    }
  };
  await client.subscribeAsync(topics.configRules(), { qos: 1 });
  if (opts.detector.onSystemHealth) await client.subscribeAsync(filters.allSystemHealth, { qos: 0 });
  return {
    version: () => version,
    async publish(topic, event) {
      await client.publishAsync(topic, JSON.stringify(event), { qos: 1 });
    },
    announce(health) {
      if (!client.connected) return;
      client
        .publishAsync(topics.ingestHealth(), JSON.stringify(health), { qos: 0 })
        .catch((err: unknown) => opts.logger?.debug({ err }, 'could not publish the ingest health report'));
    },
    close: () => client.endAsync(),
  };
}
