/**
 * The bench's gateways, in a child process of their own (bench/support/publisher-process.ts) so that building and sending telemetry does not
 * compete with ingest for the event loop it is measuring. Payloads are serialised before the start signal.
 *
 * Protocol with the parent (IPC): parent sends { url, total, perMessage, gateways, devicesPerGateway, publishers };
 * child answers { ready: true } once connected with all payloads built; parent sends { go: true }; child
 * answers { published: ms } when the broker acknowledged every message (QoS 1), then exits.
 */
import mqtt from 'mqtt';
import { topics } from '@tamky/protocol';

export interface PublisherJob {
  url: string;
  total: number;
  perMessage: number;
  gateways: number;
  devicesPerGateway: number;
  publishers: number;
  /** Epoch ms of the first reading. */
  start: number;
  /**
   * Each gateway's first sequence number. A reading's identity is (gateway, seq), so a later round continues
   * the sequences as a real gateway does: starting again from 0 would make every reading a rewrite of the
   * previous round's (a corrected timestamp), the store's slow path, not ingest.
   */
  firstSeq: number;
}

/** Messages like the gateways of the bench city send: one gateway's devices interleaved, readings 1 s apart per device. */
export function benchMessages(job: Omit<PublisherJob, 'url' | 'publishers'>): Array<{ topic: string; payload: string }> {
  const { total, perMessage, gateways, devicesPerGateway, start, firstSeq } = job;
  const seqs = new Array<number>(gateways).fill(0);
  const messages: Array<{ topic: string; payload: string }> = [];
  for (let m = 0; m < total / perMessage; m++) {
    const g = m % gateways;
    const readings = Array.from({ length: perMessage }, () => {
      const n = seqs[g]!++;
      const device = `air-${g + gateways * (n % devicesPerGateway)}`;
      return {
        device,
        ts: start + Math.floor(n / devicesPerGateway) * 1000,
        seq: firstSeq + n,
        values: {
          pm25: { v: 20 + (n % 7), u: 'ug/m3' },
          pm10: { v: 40, u: 'ug/m3' },
          temperature: { v: 29.5, u: 'degC' },
          humidity: { v: 80, u: 'pct' },
        },
      };
    });
    messages.push({ topic: topics.telemetry(`gw-${g}`), payload: JSON.stringify({ v: 1, gateway: `gw-${g}`, readings }) });
  }
  return messages;
}

async function run(job: PublisherJob): Promise<void> {
  const messages = benchMessages(job).map((m) => ({ topic: m.topic, payload: Buffer.from(m.payload) }));
  const pubs = await Promise.all(
    Array.from({ length: job.publishers }, (_, i) => mqtt.connectAsync(job.url, { clientId: `bench-pub-${i}` })),
  );
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const t0 = performance.now();
  await Promise.all(
    pubs.map(async (pub, i) => {
      for (let m = i; m < messages.length; m += pubs.length) await pub.publishAsync(messages[m]!.topic, messages[m]!.payload, { qos: 1 });
    }),
  );
  process.send!({ published: performance.now() - t0 });
  await Promise.all(pubs.map((p) => p.endAsync()));
  process.disconnect();
}

if (process.send)
  process.once(
    'message',
    (job: PublisherJob) =>
      void run(job).catch((err) => {
        console.error(err);
        process.exit(1);
      }),
  );
