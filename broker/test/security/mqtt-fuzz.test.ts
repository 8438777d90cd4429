import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { generate } from 'mqtt-packet';
import { waitFor, type Peer } from '@tamky/test-support';
import { connectOk, gatewayOpts, startWellBehavedFlow } from '../helpers';
import { connectPacket } from '../raw-socket';
import { isRunning, startBrokerProcess, writeCredentialsFile, type BrokerProcess } from './support';

// A bounded fuzz run: 10,000 random and mutated MQTT packets, half from an authenticated gateway (gw-b) and
// half from anonymous sockets, against a production-profile broker process, while gw-a keeps publishing.
// Deterministic (seeded), and it stops by itself: the packet count is fixed, the deadline only a guard.

const SEED = 0x7a3c_0f11;
const PACKETS = 10_000;
const DEADLINE_MS = 150_000;

/** mulberry32: small, fast and good enough to drive a fuzzer deterministically. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, bytes, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]! };
}
type Rng = ReturnType<typeof prng>;

const TOPICS = [
  'city/v1/gw/gw-b/telemetry',
  'city/v1/gw/gw-b/status',
  'city/v1/gw/gw-b/cmd',
  'city/v1/gw/gw-a/cmd',
  'city/v1/gw/gw-a/telemetry',
  'city/v1/config/rules',
  'city/v1/config/registry',
  'city/v1/live/readings',
  '#',
  '+/+/#',
  'city/#/x',
  '$SYS/broker/x',
  '',
  '/',
  'a/'.repeat(40),
  'city/v1/gw/gw-b/telemetry\u0000',
] as const;

const topic = (r: Rng) => (r.int(5) === 0 ? r.bytes(1 + r.int(30)).toString('latin1') : r.pick(TOPICS));
const messageId = (r: Rng) => r.int(65_536);

/** One well-formed packet of a random type with random fields (including ones a client must never send). */
function validPacket(r: Rng): Buffer {
  const kinds = [
    () => ({
      cmd: 'publish',
      topic: topic(r),
      payload: r.bytes(r.int(400)),
      qos: r.int(3),
      retain: r.int(2) === 1,
      dup: r.int(4) === 0,
      messageId: messageId(r),
    }),
    () => ({
      cmd: 'subscribe',
      messageId: messageId(r),
      subscriptions: Array.from({ length: 1 + r.int(4) }, () => ({ topic: topic(r), qos: r.int(3) })),
    }),
    () => ({ cmd: 'unsubscribe', messageId: messageId(r), unsubscriptions: [topic(r)] }),
    () => ({ cmd: 'pingreq' }),
    () => ({ cmd: r.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const), messageId: messageId(r) }),
    () => ({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: r.pick([3, 4, 5, 4] as const),
      clean: r.int(2) === 1,
      clientId: r.pick(['gw-a', 'gw-b', 'ingest', 'dashboard', '', 'x'.repeat(200)]),
      keepalive: r.int(100),
      ...(r.int(2) ? { username: r.pick(['gw-a', 'gw-b', 'dashboard', '']), password: r.bytes(r.int(20)) } : {}),
      ...(r.int(3) === 0 ? { will: { topic: topic(r), payload: r.bytes(r.int(50)), qos: r.int(3), retain: r.int(2) === 1 } } : {}),
    }),
    () => ({ cmd: 'disconnect' }),
    () => ({
      cmd: r.pick(['connack', 'suback', 'unsuback', 'pingresp'] as const),
      returnCode: r.int(6),
      messageId: messageId(r),
      granted: [r.int(3)],
      sessionPresent: false,
    }),
  ];
  try {
    return generate(r.pick(kinds)() as Parameters<typeof generate>[0]);
  } catch {
    return r.bytes(1 + r.int(64)); // fields mqtt-packet will not encode: send noise instead
  }
}

/** A valid packet with bytes flipped, cut short, extended, or its fixed header replaced. */
function mutatedPacket(r: Rng): Buffer {
  const p = Buffer.from(validPacket(r));
  switch (r.int(5)) {
    case 0:
      for (let i = 0, n = 1 + r.int(4); i < n; i++) p[r.int(p.length)] = r.int(256);
      return p;
    case 1:
      return p.subarray(0, r.int(p.length));
    case 2:
      return Buffer.concat([p, r.bytes(1 + r.int(64))]);
    case 3:
      p[0] = r.int(256);
      return p;
    default:
      // a remaining length that promises far more (or less) than follows
      return Buffer.concat([p.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, r.int(0x80)]), p.subarray(2)]);
  }
}

function fuzzPacket(r: Rng): Buffer {
  const roll = r.int(10);
  if (roll < 4) return validPacket(r);
  if (roll < 8) return mutatedPacket(r);
  return r.bytes(1 + r.int(128));
}

/** A raw socket that tells whether it is still open. */
function open(port: number): Promise<{ socket: Socket; received: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.on('error', () => undefined);
      resolve({ socket, received: () => Buffer.concat(chunks) });
    });
    socket.once('error', reject);
  });
}

/**
 * Writes one packet. A broker may stop reading a socket (backpressure, a half-received packet it waits on);
 * that is its right, so a write that does not complete soon ends that connection instead of the run.
 */
const WRITE_GIVE_UP_MS = 2_000;
const write = (s: Socket, b: Buffer) =>
  new Promise<void>((resolve) => {
    if (s.destroyed) return resolve();
    const giveUp = setTimeout(() => {
      s.destroy();
      resolve();
    }, WRITE_GIVE_UP_MS);
    s.write(b, () => {
      clearTimeout(giveUp);
      resolve();
    });
  });

/**
 * Sends `count` fuzz packets; a connection the broker closes is replaced by a new one. An authenticated
 * sender first completes a CONNECT as gw-b, so its packets reach the broker's post-CONNECT handlers.
 */
async function fuzz(
  port: number,
  r: Rng,
  count: number,
  authenticated: boolean,
  deadline: number,
): Promise<{ sent: number; connections: number }> {
  let sent = 0;
  let connections = 0;
  while (sent < count && Date.now() < deadline) {
    const { socket, received } = await open(port);
    connections++;
    if (authenticated) {
      await write(socket, connectPacket(`gw-b:fuzz`, { username: 'gw-b', password: Buffer.from('secret-b') }));
      await waitFor(() => received().length >= 4 || socket.destroyed, { what: 'CONNACK for the fuzzing gateway' });
      expect(received()[3], 'the fuzzing gateway authenticates').toBe(0);
    }
    const perConnection = 1 + r.int(40);
    for (let i = 0; i < perConnection && sent < count && !socket.destroyed && !socket.readableEnded && Date.now() < deadline; i++) {
      await write(socket, fuzzPacket(r));
      sent++;
    }
    socket.destroy();
  }
  return { sent, connections };
}

describe('MQTT fuzzing against a production-profile broker process', () => {
  let broker: BrokerProcess;
  beforeAll(async () => {
    const credentialsFile = await writeCredentialsFile();
    broker = await startBrokerProcess([
      `credentialsFile: ${credentialsFile}`,
      'limits: { connectsPerSecondPerAddress: 100000, publishesPerSecond: 100000 }',
    ]);
  });
  afterAll(() => (broker as Peer | undefined)?.stop());

  it(
    `survives ${PACKETS} random and mutated packets; another gateway's readings keep arriving; no unhandled rejection`,
    async () => {
      const flow = await startWellBehavedFlow(broker.url);
      let stopped = false;
      try {
        await waitFor(() => flow.count() > 0, { what: 'the well-behaved gateway to be flowing' });
        const before = flow.count();
        const deadline = Date.now() + DEADLINE_MS;
        const [asGateway, anonymous] = await Promise.all([
          fuzz(broker.port, prng(SEED), PACKETS / 2, true, deadline),
          fuzz(broker.port, prng(SEED + 1), PACKETS / 2, false, deadline),
        ]);
        expect(asGateway.sent + anonymous.sent, `packets sent before the ${DEADLINE_MS} ms guard`).toBe(PACKETS);

        // Readings kept arriving during the run, and still arrive after it.
        const during = flow.count();
        expect(during).toBeGreaterThan(before);
        await waitFor(() => flow.count() > during, { what: 'a reading after the fuzz run' });
        expect(flow.gateway.connected).toBe(true);
        // Every reading so far arrived once and in order: none lost or duplicated by the fuzzing next to it.
        const { received } = await flow.stop();
        stopped = true;
        expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i + 1));

        // The process is up, takes new connections, and never logged an unhandled rejection or a fatal error.
        expect(isRunning(broker)).toBe(true);
        (await connectOk(broker.url, gatewayOpts('gw-b', 'secret-b'))).end(true);
        expect(broker.output()).not.toMatch(/unhandled rejection|uncaught|"level":60/i);
      } finally {
        // mqtt.js waits for unacknowledged publishes on a graceful end: after a failure, end at once.
        if (!stopped) flow.gateway.end(true);
      }
    },
    DEADLINE_MS + 30_000,
  );
});
