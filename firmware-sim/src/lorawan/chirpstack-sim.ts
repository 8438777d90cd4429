import { randomBytes, randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { CityModel, Device } from '@tamky/protocol';
import { createLogger, type Logger } from '@tamky/service-kit';
import { simulatedClock } from '../clock';
import { createSimDevice } from '../create-sim-device';
import { hashString, uniform } from '../random';
import type { SimDevice } from '../sim-device';

export interface ChirpstackSimOptions {
  city: CityModel;
  /** The MQTT broker ChirpStack's integration would publish to. */
  url: string;
  applicationId: string;
  /** Simulated time runs speed× real time (the signal models'); receive times are real. */
  speed?: number;
  now?: () => number;
  /** LoRa gateways of the simulated network (1..n of them hear each uplink). */
  loraGateways?: number;
  log?: Logger;
}

export interface ChirpstackSim {
  devices: Map<string, SimDevice>;
  uplinks(): number;
  close(): Promise<void>;
}

interface Node {
  device: Device;
  sim: SimDevice;
  devEui: string;
  devAddr: string;
  fCnt: number;
  timer?: NodeJS.Timeout;
}

/**
 * A LoRaWAN district as ChirpStack v4 shows it to an application: every registry device with a `lorawan`
 * DevEUI, driven by the same signal models as the wired devices, sends its frames as ChirpStack's MQTT
 * integration events (JSON marshaler): a join at start, an `up` every uplink interval in the device's own
 * payload format, a `status` (battery) now and then; lamp nodes take `command/down` downlinks (class C:
 * applied at once, then `txack` and `ack`). Frames are encoded here from the vendor formats, independently of
 * the connector's codecs that decode them.
 */
export async function startChirpstackSim(opts: ChirpstackSimOptions): Promise<ChirpstackSim> {
  const log = opts.log ?? createLogger('chirpstack-sim');
  const now = simulatedClock(opts.speed ?? 1, opts.now);
  const location = { lat: opts.city.lat, lon: opts.city.lon, timeZone: opts.city.timeZone };
  const loraGateways = Array.from({ length: opts.loraGateways ?? 3 }, (_, i) => `0016c001f1${String(i + 1).padStart(6, '0')}`);
  const nodes = new Map<string, Node>();
  for (const device of opts.city.devices) {
    if (!device.lorawan) continue;
    if (device.kind !== 'water_level' && device.kind !== 'street_light') {
      log.warn({ device: device.id, kind: device.kind }, 'no simulated LoRaWAN payload format for this kind');
      continue;
    }
    nodes.set(device.lorawan.devEui, {
      device,
      sim: createSimDevice(device, { city: location, now }),
      devEui: device.lorawan.devEui,
      devAddr: randomBytes(4).toString('hex'),
      fCnt: 0,
    });
  }
  let uplinks = 0;
  const client: MqttClient = await mqtt.connectAsync(opts.url, {
    clientId: `chirpstack-sim-${randomUUID().slice(0, 8)}`,
    reconnectPeriod: 1000,
  });
  const deviceInfo = (n: Node) => ({
    tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
    tenantName: 'Tam Kỳ',
    applicationId: opts.applicationId,
    applicationName: 'city',
    deviceProfileName: n.device.lorawan!.profile,
    deviceName: n.device.id,
    devEui: n.devEui,
    ...(n.device.kind === 'street_light' ? { deviceClassEnabled: 'CLASS_C' } : {}),
  });
  const publish = (n: Node, type: string, event: Record<string, unknown>) =>
    client
      .publishAsync(
        `application/${opts.applicationId}/device/${n.devEui}/event/${type}`,
        JSON.stringify({ time: new Date().toISOString(), deviceInfo: deviceInfo(n), ...event }),
        { qos: 1 },
      )
      .catch((err: Error) => log.warn({ err: err.message }, 'publish failed'));

  const payload = (n: Node): { fPort: number; bytes: Buffer } => {
    n.sim.update(now());
    const r = n.sim.readings();
    if (n.device.kind === 'water_level') {
      // Dragino LDDS75: battery mV, distance mm, interrupt, DS18B20 temperature ×10, sensor flag.
      const b = Buffer.alloc(8);
      b.writeUInt16BE(3300 - (uplinks % 200), 0);
      b.writeUInt16BE(Math.max(21, Math.round((r.distance ?? 1) * 1000)), 2);
      b.writeInt16BE(Math.round((r.temperature ?? 27) * 10), 5);
      b[7] = 1;
      return { fPort: 2, bytes: b };
    }
    // tamky-lamp: level, status, power W×10, energy Wh, voltage V×10, current mA.
    const b = Buffer.alloc(12);
    // The controller's own lamp (DALI short address 0): actual level and status, as its registers hold them.
    b[0] = n.sim.bank.getHolding(6);
    b[1] = n.sim.bank.getHolding(5) & 0xff;
    b.writeUInt16BE(Math.min(65535, Math.round((r.power ?? 0) * 10)), 2);
    b.writeUInt32BE(Math.round((r.energy ?? 0) * 1000) >>> 0, 4);
    b.writeUInt16BE(Math.round((r.voltage ?? 230) * 10), 8);
    b.writeUInt16BE(Math.min(65535, Math.round((r.current ?? 0) * 1000)), 10);
    return { fPort: 1, bytes: b };
  };

  const uplink = (n: Node) => {
    const { fPort, bytes } = payload(n);
    const heard = 1 + (hashString(`${n.devEui}:${n.fCnt}`) % loraGateways.length);
    const seed = hashString(n.devEui);
    const rxInfo = loraGateways.slice(0, heard).map((gatewayId, i) => ({
      gatewayId,
      uplinkId: (seed + n.fCnt * 7 + i) % 65536,
      rssi: Math.round(-118 + uniform(seed + i) * 40),
      snr: Math.round((-8 + uniform(seed + i + n.fCnt) * 16) * 4) / 4,
      channel: n.fCnt % 8,
      crcStatus: 'CRC_OK',
    }));
    const sf = 7 + (seed % 4);
    void publish(n, 'up', {
      deduplicationId: randomUUID(),
      devAddr: n.devAddr,
      adr: true,
      dr: 12 - sf,
      // ChirpStack's JSON leaves fields at their default out: no fCnt on the first frame of a session.
      ...(n.fCnt ? { fCnt: n.fCnt } : {}),
      fPort,
      data: bytes.toString('base64'),
      rxInfo,
      txInfo: {
        frequency: 923_200_000 + 200_000 * (n.fCnt % 8),
        modulation: { lora: { bandwidth: 125_000, spreadingFactor: sf, codeRate: 'CR_4_5' } },
      },
    });
    uplinks++;
    n.fCnt++;
    if (n.fCnt % 10 === 1)
      void publish(n, 'status', { deduplicationId: randomUUID(), margin: 8, batteryLevel: Math.max(5, 100 - (n.fCnt % 1000) / 10) });
  };

  client.on('message', (topic, message) => {
    const devEui = topic.split('/')[3] ?? '';
    const n = nodes.get(devEui);
    if (!n || n.device.kind !== 'street_light') return;
    let cmd: { id?: string; confirmed?: boolean; data?: string };
    try {
      cmd = JSON.parse(message.toString()) as typeof cmd;
    } catch {
      return;
    }
    const bytes = Buffer.from(cmd.data ?? '', 'base64');
    const fCntDown = n.fCnt;
    void publish(n, 'txack', { downlinkId: hashString(cmd.id ?? ''), queueItemId: cmd.id, fCntDown, gatewayId: loraGateways[0] });
    // Class C: the node applies the command, acknowledges in its next uplink, sent right away.
    const ok = bytes[0] === 0x01 && bytes.length === 2 && n.sim.write('holding', 0, [bytes[1]!]) === undefined;
    setTimeout(() => {
      if (cmd.confirmed) void publish(n, 'ack', { deduplicationId: randomUUID(), queueItemId: cmd.id, acknowledged: ok, fCntDown });
      uplink(n);
    }, 800).unref();
  });
  await client.subscribeAsync(`application/${opts.applicationId}/device/+/command/down`, { qos: 1 });

  for (const n of nodes.values()) {
    void publish(n, 'join', { deduplicationId: randomUUID(), devAddr: n.devAddr });
    // Spread first uplinks over the interval so the district does not speak in step.
    const first = setTimeout(
      () => {
        uplink(n);
        n.timer = setInterval(() => uplink(n), n.device.pollIntervalMs);
        n.timer.unref();
      },
      uniform(hashString(n.devEui)) * Math.min(n.device.pollIntervalMs, 10_000),
    );
    first.unref();
    n.timer = first;
  }
  log.info({ devices: nodes.size, loraGateways: loraGateways.length }, 'simulated ChirpStack district started');
  return {
    devices: new Map([...nodes.values()].map((n) => [n.device.id, n.sim])),
    uplinks: () => uplinks,
    async close() {
      for (const n of nodes.values()) {
        clearTimeout(n.timer);
        clearInterval(n.timer);
      }
      await client.endAsync();
    },
  };
}
