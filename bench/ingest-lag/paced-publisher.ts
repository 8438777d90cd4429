/**
 * Gateways publishing at a steady rate, in a child process of their own so that building telemetry does not
 * compete with the ingest being measured. Each message holds one reading per device of its gateway, stamped
 * with the time it is built, so "durable time − reading ts" in the parent is the consumer lag of that reading.
 *
 * IPC: parent sends a PacedJob; child answers { ready: true } once connected; parent sends { go: true };
 * child publishes for `seconds` and answers { published: readings } once the broker acknowledged all (QoS 1).
 */
import mqtt from 'mqtt';
import { cityModelSchema, topics, type CityModel } from '@tamky/protocol';

export interface PacedJob {
  url: string;
  /** Readings per second offered. */
  rate: number;
  seconds: number;
  gateways: number;
  devicesPerGateway: number;
  connections: number;
}

export const deviceId = (gateway: number, d: number): string => `air-${gateway}-${d}`;

/** The city shape every ingest-lag harness uses: one ward, GATEWAYS × DEVICES_PER_GW air stations. */
export const GATEWAYS = 52;
export const DEVICES_PER_GW = 100;
export function lagCity(): CityModel {
  return cityModelSchema.parse({
    id: 'lag',
    name: 'Lag',
    lat: 15.57,
    lon: 108.47,
    wards: [{ id: 'w1', name: 'W1', type: 'phuong', lat: 15.57, lon: 108.47, map: { x: 1, y: 1 } }],
    gateways: Array.from({ length: GATEWAYS }, (_, g) => ({ id: `gw-${g}`, ward: 'w1', name: `gw-${g}` })),
    devices: Array.from({ length: GATEWAYS * DEVICES_PER_GW }, (_, i) => {
      const g = Math.floor(i / DEVICES_PER_GW);
      const id = deviceId(g, i % DEVICES_PER_GW);
      return { id, kind: 'air_station', name: id, ward: 'w1', gateway: `gw-${g}`, lat: 15.57, lon: 108.47 };
    }),
  });
}

async function run(job: PacedJob): Promise<void> {
  const pubs = await Promise.all(
    Array.from({ length: job.connections }, (_, i) => mqtt.connectAsync(job.url, { clientId: `lag-pub-${i}` })),
  );
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const cpu0 = process.cpuUsage();
  const seqs = new Array<number>(job.gateways).fill(0);
  const acks: Array<Promise<unknown>> = [];
  const total = Math.round(job.rate * job.seconds);
  const messages = Math.ceil(total / job.devicesPerGateway);
  const t0 = performance.now();
  let sent = 0;
  const lastTs = new Array<number>(job.gateways).fill(0);
  while (sent < messages) {
    // Catch up with the schedule every few ms: a steady offered rate whatever the timer's jitter.
    const due = Math.min(messages, Math.floor(((performance.now() - t0) / 1000) * (job.rate / job.devicesPerGateway)) + 1);
    for (; sent < due; sent++) {
      const g = sent % job.gateways;
      // (device, ts) is the key: a gateway's next message is stamped at least 1 ms later.
      const ts = Math.max(Date.now(), lastTs[g]! + 1);
      lastTs[g] = ts;
      const readings = Array.from({ length: job.devicesPerGateway }, (_, d) => ({
        device: deviceId(g, d),
        ts,
        seq: seqs[g]!++,
        values: {
          pm25: { v: 20 + (d % 7), u: 'ug/m3' },
          pm10: { v: 40, u: 'ug/m3' },
          temperature: { v: 29.5, u: 'degC' },
          humidity: { v: 80, u: 'pct' },
        },
      }));
      acks.push(
        pubs[sent % pubs.length]!.publishAsync(topics.telemetry(`gw-${g}`), JSON.stringify({ v: 1, gateway: `gw-${g}`, readings }), {
          qos: 1,
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(acks);
  const cpu = process.cpuUsage(cpu0);
  process.send!({ published: messages * job.devicesPerGateway, cpuMs: (cpu.user + cpu.system) / 1000 });
  await Promise.all(pubs.map((p) => p.endAsync()));
  process.disconnect();
}

if (process.send)
  process.once(
    'message',
    (job: PacedJob) =>
      void run(job).catch((err) => {
        console.error(err);
        process.exit(1);
      }),
  );
