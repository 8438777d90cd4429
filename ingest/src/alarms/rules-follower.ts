import mqtt from 'mqtt';
import { topics } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { parseRulesMessage } from '@tamky/protocol';
import type { AlarmRule } from '@tamky/protocol';

export interface RulesFollower {
  /** Version of the rule set in force (0 until the retained message arrived). */
  version(): number;
  close(): Promise<void>;
}

/**
 * Keeps a detector on the rule set the dashboard publishes retained on config/rules: the retained copy
 * arrives at connect, later edits as they are saved. A malformed or older set is logged and ignored,
 * so a bad edit can never leave the city without alarms.
 */
export async function followRules(opts: {
  url: string;
  clientId?: string;
  username?: string;
  password?: string;
  detector: { setRules(rules: AlarmRule[]): void };
  logger?: Logger;
}): Promise<RulesFollower> {
  let version = 0;
  const client = await mqtt.connectAsync(opts.url, {
    clientId: opts.clientId ?? `alarm-rules-${Math.random().toString(36).slice(2, 10)}`,
    username: opts.username,
    password: opts.password,
    reconnectPeriod: 1000,
  });
  client.on('message', (topic, payload) => {
    if (topic !== topics.configRules()) return;
    try {
      const set = parseRulesMessage(payload);
      if (set.version !== 0 && set.version <= version) return;
      opts.detector.setRules(set.rules);
      version = set.version;
      opts.logger?.info({ version, rules: set.rules.length }, 'alarm rules loaded');
    } catch (err) {
      opts.logger?.error({ err: (err as Error).message }, 'alarm rules on config/rules rejected; keeping the previous set');
    }
  });
  await client.subscribeAsync(topics.configRules(), { qos: 1 });
  return {
    version: () => version,
    close: () => client.endAsync(),
  };
}
