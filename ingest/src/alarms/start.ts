import type { AlarmEvent, AqiLevelSpec, CityModel } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import { createAlarmDetector, type AlarmDetector, type AlarmDetectorLimits } from './detector';
import { followRules, type RulesFollower } from './rules-follower';
import type { AlarmRule } from '@tamky/protocol';
import { loadRules } from './rules';

export interface AlarmDetectionOptions {
  mqtt: { url: string; username?: string; password?: string; clientId?: string };
  city: CityModel;
  /** VN_AQI levels from the loaded limits: alarm texts name the level as the city's file does. */
  aqiLevels: readonly AqiLevelSpec[];
  /** Publishes on the ingest's own MQTT connection (QoS 1): `(topic, event) => ingest.publish(topic, event, { qos: 1 })`. */
  publish: (topic: string, payload: AlarmEvent) => Promise<void>;
  /** Rules in force until the dashboard's retained set arrives (e.g. config/rules/default.yaml). */
  rulesFile?: string;
  logger?: Logger;
  limits?: AlarmDetectorLimits;
}

/**
 * What an ingest composer needs in one call: the detector (pass it as an observer to startIngest) kept
 * on the rule set published on config/rules. `publish` may be bound late (ingest starts after this).
 */
export async function startAlarmDetection(opts: AlarmDetectionOptions): Promise<{
  detector: AlarmDetector;
  rulesVersion(): number;
  publishAside: RulesFollower['publish'];
  announce: RulesFollower['announce'];
  close(): Promise<void>;
}> {
  const initial: AlarmRule[] = opts.rulesFile ? loadRules(opts.rulesFile) : [];
  const detector = createAlarmDetector({
    rules: initial,
    city: opts.city,
    aqiLevels: opts.aqiLevels,
    publish: opts.publish,
    logger: opts.logger,
    limits: opts.limits,
  });
  const follower: RulesFollower = await followRules({
    url: opts.mqtt.url,
    username: opts.mqtt.username,
    password: opts.mqtt.password,
    clientId: opts.mqtt.clientId,
    detector,
    logger: opts.logger,
  });
  return { detector, rulesVersion: follower.version, publishAside: follower.publish, announce: follower.announce, close: follower.close };
}
