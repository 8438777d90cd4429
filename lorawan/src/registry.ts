import mqtt, { type MqttClient } from 'mqtt';
import { cityModelSchema, topics, type CityModel, type Device } from '@tamky/protocol';
import type { Logger } from '@tamky/service-kit';

/** The registry's LoRaWAN devices read through this connector, by DevEUI. */
export class LorawanDevices {
  private byEui = new Map<string, Device>();
  private byId = new Map<string, Device>();

  constructor(private readonly gatewayId: string) {}

  update(city: CityModel): void {
    const mine = city.devices.filter((d) => d.lorawan && d.gateway === this.gatewayId);
    this.byEui = new Map(mine.map((d) => [d.lorawan!.devEui, d]));
    this.byId = new Map(mine.map((d) => [d.id, d]));
  }

  byDevEui(devEui: string): Device | undefined {
    return this.byEui.get(devEui);
  }

  byDeviceId(id: string): Device | undefined {
    return this.byId.get(id);
  }

  all(): Device[] {
    return [...this.byId.values()];
  }
}

/**
 * Follows the registry the dashboard publishes retained on config/registry, so a DevEUI an admin adds or moves
 * in the device screen takes effect without a restart. An invalid or cleared message keeps what we have.
 */
export function followRegistry(
  opts: { url: string; username?: string; password?: string; clientId: string },
  onCity: (city: CityModel) => void,
  log: Logger,
): { close(): Promise<void> } {
  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: opts.clientId,
    username: opts.username,
    password: opts.password,
    clean: true,
    reconnectPeriod: 2000,
    // A refused CONNACK ("server unavailable" while a broker is busy) ends mqtt.js's retries unless this is set.
    reconnectOnConnackError: true,
  });
  client.on('connect', () => {
    client.subscribe(topics.configRegistry(), { qos: 1 }, (err) => {
      if (err) log.error({ err: err.message }, 'cannot subscribe to the registry');
    });
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'registry connection error'));
  client.on('message', (topic, payload) => {
    if (topic !== topics.configRegistry() || payload.length === 0) return;
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      log.warn('registry message is not JSON: kept the previous registry');
      return;
    }
    const parsed = cityModelSchema.safeParse(json);
    if (!parsed.success) {
      log.warn({ issues: parsed.error.issues.slice(0, 3) }, 'invalid registry message: kept the previous registry');
      return;
    }
    onCity(parsed.data);
  });
  return { close: () => client.endAsync(true).then(() => undefined) };
}
