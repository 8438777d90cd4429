import { appendFileSync, readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { filters, liveReadingsSchema, parseGatewayTopic, readingSchema, topics } from '@tamky/protocol';

/** The first copy of a reading a gateway published, as the observer saw it on the broker. */
export interface PublishedReading {
  device: string;
  ts: number;
  values: Record<string, number>;
}

/**
 * What an independent MQTT client saw during a run, keyed by (gateway, seq):
 * - `published`: the first copy of each reading on `city/v1/gw/+/telemetry` (QoS 1, persistent session,
 *   so copies published while the observer's link is down are delivered on reconnect);
 * - `copies`: how many times (gateway, seq) was published (resends after lost PUBACKs, outbox replays);
 * - `inconsistent`: (gateway, seq) published twice with different content (a gateway bug);
 * - `arrivals`: wall-clock time the reading first appeared on `city/v1/live/readings`, which ingest
 *   publishes only after the store made it durable (QoS 0: lost while the observer is disconnected).
 */
export class ObservedRecord {
  readonly published = new Map<string, Map<number, PublishedReading>>();
  readonly copies = new Map<string, Map<number, number>>();
  readonly arrivals = new Map<string, Map<number, number>>();
  inconsistent = 0;
  /** Readings published with a clock mark (protocol readingSchema `clock`), by mark, first copies only. */
  readonly clockMarks = { corrected: 0, unsynced: 0 };
  /** Highest clock era seen per gateway. */
  readonly eras = new Map<string, number>();
  telemetryMessages = 0;
  unparsableMessages = 0;

  private static slot<V>(m: Map<string, Map<number, V>>, gateway: string): Map<number, V> {
    let s = m.get(gateway);
    if (!s) m.set(gateway, (s = new Map()));
    return s;
  }

  recordPublished(gateway: string, seq: number, reading: PublishedReading): void {
    const copies = ObservedRecord.slot(this.copies, gateway);
    copies.set(seq, (copies.get(seq) ?? 0) + 1);
    const pub = ObservedRecord.slot(this.published, gateway);
    const first = pub.get(seq);
    if (!first) pub.set(seq, reading);
    else if (first.device !== reading.device || first.ts !== reading.ts || !sameValues(first.values, reading.values)) this.inconsistent++;
  }

  recordArrival(gateway: string, seq: number, at: number): void {
    const a = ObservedRecord.slot(this.arrivals, gateway);
    if (!a.has(seq)) a.set(seq, at);
  }

  /** JSON lines, so a long run's record can be written as it grows and read back by the CLI. */
  static load(file: string): ObservedRecord {
    const rec = new ObservedRecord();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as ObservedLine;
      if (e.t === 'p') rec.recordPublished(e.g, e.s, { device: e.d, ts: e.ts, values: e.v });
      else rec.recordArrival(e.g, e.s, e.at);
    }
    return rec;
  }
}

type ObservedLine =
  { t: 'p'; g: string; s: number; d: string; ts: number; v: Record<string, number> } | { t: 'a'; g: string; s: number; at: number };

export function sameValues(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}

export interface ObserverOptions {
  url: string;
  /** Anonymous works against a development-profile broker from loopback; otherwise a service account. */
  username?: string;
  password?: string;
  clientId?: string;
  /** Append every observation here as JSON lines (the CLI's `observe` mode). */
  journal?: string;
  now?: () => number;
}

export interface Observer {
  record: ObservedRecord;
  connected(): boolean;
  close(): Promise<void>;
}

/**
 * Starts the observer client. Its session is persistent (clean: false, QoS 1 on telemetry) so a broker
 * with persistence keeps queuing telemetry for it across the broker's own restart.
 */
export async function startObserver(opts: ObserverOptions): Promise<Observer> {
  const record = new ObservedRecord();
  const now = opts.now ?? Date.now;
  const journal: string[] = [];
  const flush = () => {
    if (opts.journal && journal.length > 0) appendFileSync(opts.journal, journal.splice(0).join('\n') + '\n');
  };
  const flushTimer = opts.journal ? setInterval(flush, 1000) : undefined;

  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: opts.clientId ?? `loss-observer-${process.pid}`,
    clean: false,
    username: opts.username,
    password: opts.password,
    reconnectPeriod: 500,
    connectTimeout: 10_000,
    keepalive: 30,
    protocolVersion: 4,
  });
  client.on('error', () => undefined);
  client.on('message', (topic, payload) => {
    const at = now();
    if (topic === topics.liveReadings()) {
      const live = liveReadingsSchema.safeParse(safeJson(payload));
      if (!live.success) return;
      for (const r of live.data.readings) {
        record.recordArrival(r.gateway, r.seq, at);
        if (opts.journal) journal.push(JSON.stringify({ t: 'a', g: r.gateway, s: r.seq, at }));
      }
      return;
    }
    const parsed = parseGatewayTopic(topic);
    if (parsed?.kind !== 'telemetry') return;
    record.telemetryMessages++;
    const body = safeJson(payload) as { gateway?: unknown; readings?: unknown } | undefined;
    if (!body || body.gateway !== parsed.gatewayId || !Array.isArray(body.readings)) {
      record.unparsableMessages++;
      return;
    }
    for (const raw of body.readings) {
      const r = readingSchema.safeParse(raw);
      if (!r.success) continue;
      const values: Record<string, number> = {};
      for (const [f, { v }] of Object.entries(r.data.values)) values[f] = v;
      const firstCopy = !record.published.get(parsed.gatewayId)?.has(r.data.seq);
      record.recordPublished(parsed.gatewayId, r.data.seq, { device: r.data.device, ts: r.data.ts, values });
      if (firstCopy && r.data.clock) record.clockMarks[r.data.clock]++;
      if (r.data.era && r.data.era > (record.eras.get(parsed.gatewayId) ?? 0)) record.eras.set(parsed.gatewayId, r.data.era);
      if (opts.journal)
        journal.push(JSON.stringify({ t: 'p', g: parsed.gatewayId, s: r.data.seq, d: r.data.device, ts: r.data.ts, v: values }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`observer could not connect to ${opts.url}`)), 15_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const subscribe = () =>
    client.subscribeAsync({ [filters.allTelemetry]: { qos: 1 }, [topics.liveReadings()]: { qos: 0 } }).then((granted) => {
      const refused = granted.filter((g) => g.qos === 128);
      if (refused.length) throw new Error(`broker refused the observer's subscriptions: ${refused.map((g) => g.topic).join(', ')}`);
    });
  await subscribe();
  // A broker restarted without our session (memory persistence) would forget the subscriptions.
  client.on('connect', (ack) => {
    if (!ack.sessionPresent) void subscribe().catch(() => undefined);
  });
  return {
    record,
    connected: () => client.connected,
    async close() {
      if (flushTimer) clearInterval(flushTimer);
      flush();
      await client.endAsync();
    },
  };
}

function safeJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
