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
  await client.subscribeAsync(topics.configRules(), { qos: 1 });
  return {
    version: () => version,
    close: () => client.endAsync(),
  };
}
