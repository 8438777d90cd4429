import { topics, type CityModel } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';
import type { IngestMetrics } from '../metrics';
import { buildRegistry, type Registry } from '../validate/registry';
import { parseRegistryMessage } from '../validate/registry-message';

export interface RegistryFollower {
  /** The city model in force: the city file at start, then each valid registry message. */
  city(): CityModel;
  registry(): Registry;
  /** A payload of config/registry (retained copy at start, or live): applied when valid and new. */
  apply(payload: Buffer): void;
}

/**
 * Follows the device registry the dashboard publishes retained on config/registry. The registry is replaced
 * as a whole, so a message is validated against one registry; an invalid or cleared message keeps the one in
 * force. `onChange` runs after a new registry is in force.
 */
export function createRegistryFollower(opts: {
  city: CityModel;
  metrics: IngestMetrics;
  log: Logger;
  onChange(city: CityModel): void;
}): RegistryFollower {
  const { metrics: m, log } = opts;
  let city = opts.city;
  let registry = buildRegistry(city);
  let registryText: string | undefined;
  return {
    city: () => city,
    registry: () => registry,
    apply(payload) {
      const text = payload.toString('utf8');
      // The same payload again (the retained copy on every (re)subscribe, or read at start): nothing to do.
      if (text === registryText) {
        m.registryUpdates.inc({ result: 'unchanged' });
        return;
      }
      registryText = text;
      const msg = parseRegistryMessage(text);
      if (msg.kind === 'cleared') {
        m.registryUpdates.inc({ result: 'cleared' });
        log.info('retained device registry cleared; keeping the registry in force');
        return;
      }
      if (msg.kind === 'invalid') {
        m.registryUpdates.inc({ result: 'rejected' });
        log.error({ topic: topics.configRegistry(), problem: msg.problem }, 'device registry rejected; keeping the registry in force');
        return;
      }
      const before = registry;
      city = msg.city;
      registry = buildRegistry(city);
      m.registryUpdates.inc({ result: 'applied' });
      m.registryDevices.set(city.devices.length);
      const added = registry
        .devices()
        .filter((d) => !before.device(d.id))
        .map((d) => d.id);
      const removed = before
        .devices()
        .filter((d) => !registry.device(d.id))
        .map((d) => d.id);
      log.info(
        { devices: city.devices.length, gateways: city.gateways.length, added: added.slice(0, 20), removed: removed.slice(0, 20) },
        'device registry updated',
      );
      opts.onChange(city);
    },
  };
}
