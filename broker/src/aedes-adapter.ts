import { Readable } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { requirePinnedVersion } from '@tamky/service-kit';

/**
 * The one place that knows aedes' internals (and those of mqtt-packet's parser and mqemitter's queues, which
 * aedes brings): field names, private methods, the shapes of what they hold. Everything else in the broker
 * goes through these accessors. The versions below are the ones the broker's tests ran against; package.json
 * pins them exactly, and `assertTestedVersions` refuses to start on any other.
 */
export const TESTED_VERSIONS = {
  aedes: '1.2.0',
  'mqtt-packet': '9.0.2',
  mqemitter: '7.1.0',
  /** persistence.ts reads its session queues with the library's key layout and encoding. */
  'aedes-persistence-redis': '12.0.0',
} as const;

/** aedes as the broker loads it, then mqtt-packet and mqemitter as aedes loads them. */
export function assertTestedVersions(fromModuleUrl = import.meta.url): void {
  const adapter = 'broker/src/aedes-adapter.ts';
  const aedes = requirePinnedVersion('aedes', TESTED_VERSIONS.aedes, adapter, fromModuleUrl);
  requirePinnedVersion('mqtt-packet', TESTED_VERSIONS['mqtt-packet'], adapter, aedes);
  requirePinnedVersion('mqemitter', TESTED_VERSIONS.mqemitter, adapter, aedes);
  requirePinnedVersion('aedes-persistence-redis', TESTED_VERSIONS['aedes-persistence-redis'], adapter, fromModuleUrl);
}

// ---- broker ----

type PublishDone = (err?: Error | null) => void;
/** aedes' publish as implemented (aedes.js): the client argument is optional; the typings omit it. */
export type Publish<P> = (packet: P, client: Client | null, done: PublishDone) => void;

/** What the persistence does for outgoing (broker → subscriber) messages (aedes-persistence's interface). */
export interface OutgoingPersistence {
  outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: unknown): Promise<void>;
  outgoingUpdate(client: Client, packet: unknown): Promise<unknown>;
  outgoingClearMessageId(client: Client | { id: string }, packet: unknown): Promise<unknown>;
  outgoingStream(client: Client | { id: string }): NodeJS.ReadableStream & AsyncIterable<unknown>;
}

interface BrokerInternals {
  clients: Record<string, Client>;
  mq: unknown;
  persistence: OutgoingPersistence;
  publish: Publish<unknown>;
}
const brokerOf = (broker: Aedes) => broker as unknown as BrokerInternals;

export const connectedClients = (broker: Aedes | undefined): Client[] => (broker ? Object.values(brokerOf(broker).clients) : []);
export const persistenceOf = (broker: Aedes): OutgoingPersistence => brokerOf(broker).persistence;
export const emitterOf = (broker: Aedes): unknown => brokerOf(broker).mq;
/** Messages waiting in the emitter's routing queue. */
export const routingQueueLength = (broker: Aedes | undefined): number =>
  broker ? ((brokerOf(broker).mq as { length?: number } | undefined)?.length ?? 0) : 0;

/** aedes' publish as it is now (taken once), callable with the publishing client. */
export function publishOf<P>(broker: Aedes): Publish<P> {
  const publish = brokerOf(broker).publish;
  return (packet, client, done) => publish.call(broker, packet, client, done);
}

/** Replaces aedes' publish (which its PUBLISH handler calls after the acknowledgement) by `wrap(original)`. */
export function wrapPublish<P>(broker: Aedes, wrap: (original: Publish<P>) => Publish<P>): void {
  const original = publishOf<P>(broker);
  const wrapped = wrap(original);
  (broker as unknown as { publish: (packet: P, client?: unknown, done?: unknown) => void }).publish = (packet, client, done) => {
    // Called as publish(packet, done) by aedes' own $SYS and will code, publish(packet, client, done) by the handlers.
    const cb = (typeof client === 'function' ? client : done) as PublishDone | undefined;
    wrapped(packet, typeof client === 'function' ? null : ((client as Client | null | undefined) ?? null), cb ?? (() => undefined));
  };
}

/**
 * Replaces how aedes resends a persistent session's queue on reconnect. aedes 1.2's CONNECT handler ends with
 * `emptyQueue` (lib/handlers/connect.js), which asks the persistence for the session's `outgoingStream` and sends
 * it one message at a time, each after its persistence update and a `setImmediate`. That step is not reachable
 * from outside, but it is the only caller of `outgoingStream` while a client is still connecting (aedes' other
 * caller, `Client#emptyOutgoingQueue`, is public API it never calls itself). So there the persistence hands
 * aedes an empty queue that ends when `resend(client, queue)` has sent the real one: aedes then completes the
 * CONNECT as before (`clientReady` after the resend), and a rejection fails the CONNECT as a write error did.
 */
export function replaceSessionResend(broker: Aedes, resend: (client: Client, queue: AsyncIterable<unknown>) => Promise<void>): void {
  const persistence = persistenceOf(broker);
  const stream = persistence.outgoingStream.bind(persistence);
  persistence.outgoingStream = (client) => {
    const c = client as Partial<ClientInternals>;
    if (c.broker !== broker || c.connecting !== true) return stream(client);
    const handOver = new Readable({ objectMode: true, read() {} });
    resend(client as Client, stream(client)).then(
      () => handOver.push(null),
      (err: Error) => handOver.destroy(err),
    );
    return handOver as unknown as ReturnType<OutgoingPersistence['outgoingStream']>;
  };
}

/** What a QoS 1/2 delivery or a PUBREL carries on the wire, and which stored message it is. */
export interface OutgoingPacket {
  cmd: string;
  brokerId: string;
  brokerCounter: number;
  topic?: string;
  payload?: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  messageId: number;
}

/**
 * A queued packet made ready to send as aedes' QoSPacket makes it (aedes-packet's copy; a packet that already
 * had an id on an earlier connection keeps it, [MQTT-4.4.0-1]; one that never went out takes the next).
 */
export function outgoingPacket(stored: unknown, client: Client): OutgoingPacket {
  const o = stored as Partial<OutgoingPacket> & { messageId?: number | null };
  const broker = clientOf(client).broker as { id: string; counter: number };
  return {
    cmd: o.cmd || 'publish',
    brokerId: o.brokerId || broker.id,
    brokerCounter: o.brokerCounter || ++broker.counter,
    topic: o.topic,
    payload: o.payload || Buffer.alloc(0),
    qos: o.qos || 0,
    retain: o.retain || false,
    dup: o.dup || false,
    messageId: o.messageId || takeNextPacketId(client),
  };
}

/**
 * Writes one packet to the client's socket as aedes' lib/write.js does: 'full' when the socket asks to wait
 * for 'drain' (see `waitForDrain`), 'closed' when the connection is gone.
 */
export function writePacket(client: Client, packet: OutgoingPacket): 'written' | 'full' | 'closed' {
  const c = clientOf(client);
  if (!(c.connecting || c.connected) || c.closed) return 'closed';
  const ok = mqttPacket.writeToStream(packet as unknown as mqttPacket.Packet, c.conn);
  return ok || c.errored ? 'written' : 'full';
}

/** Resolves on the socket's 'drain', rejects on aedes' drain timeout (which also disconnects the client). */
export function waitForDrain(client: Client): Promise<void> {
  return new Promise((resolve, reject) => clientOf(client).waitForDrain((err) => (err ? reject(err) : resolve())));
}

/** Whether aedes still counts the client as connected (or connecting) and its socket is open. */
export function isOpen(client: Client): boolean {
  const c = clientOf(client);
  return (c.connecting || c.connected) && !c.closed && !c.conn.destroyed;
}

// ---- mqemitter ----

/** mqemitter's two internal arrays (also mqemitter-redis', which extends it). Undefined if they are not arrays. */
export function emitterQueues(
  mq: unknown,
): { get(): [unknown[], unknown[]]; set(messages: unknown[], callbacks: unknown[]): void } | undefined {
  const e = mq as { _messageQueue?: unknown[]; _messageCallbacks?: unknown[] };
  if (!Array.isArray(e._messageQueue) || !Array.isArray(e._messageCallbacks)) return undefined;
  return {
    get: () => [e._messageQueue!, e._messageCallbacks!],
    set(messages, callbacks) {
      e._messageQueue = messages;
      e._messageCallbacks = callbacks;
    },
  };
}

// ---- client ----

type Deliver = (packet: never, cb: () => void) => void;
interface ClientInternals {
  broker: unknown;
  conn: NodeJS.WritableStream & { destroyed: boolean };
  connecting: boolean;
  connected: boolean;
  closed: boolean;
  errored: boolean;
  waitForDrain(callback: (err?: Error | null) => void): void;
  _parser?: MqttParser;
  _drainTimer?: unknown;
  _nextId: number;
  duplicates: Record<string, number>;
  subscriptions: Record<string, { qos: number }>;
  deliver0: Deliver;
  deliverQoS: Deliver;
}
const clientOf = (client: Client) => client as unknown as ClientInternals;

/** mqtt-packet's parser as aedes holds it per client. */
export interface MqttParser {
  packet: { length: number; cmd?: string };
  _parseLength(): boolean;
  _emitError(err: Error): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

/** The client's mqtt-packet parser, if it has the shape the packet-size guard needs. */
export function parserOf(client: Client): MqttParser | undefined {
  const parser = clientOf(client)._parser;
  return parser && typeof parser._parseLength === 'function' ? parser : undefined;
}

/** Is aedes waiting for this subscriber's socket to drain? */
export const isDraining = (client: Client): boolean => Boolean(clientOf(client)._drainTimer);

/** The next packet id aedes would give a delivery on this connection, advanced past it (1…65535). */
export function takeNextPacketId(client: Client): number {
  const c = clientOf(client);
  const id = c._nextId;
  c._nextId = id >= 65_535 ? 1 : id + 1;
  return id;
}

/**
 * How aedes delivers to one client: the per-broker-counter duplicate check, the granted subscriptions, and the
 * two delivery functions its subscriptions capture when they are made (so replace them before that).
 */
export interface DeliveryInternals<P> {
  /** Replaces the duplicate check's counters (by broker id) with `counters`. */
  setDuplicateCounters(counters: Record<string, number>): void;
  subscriptions(): Record<string, { qos: number }>;
  deliver0: (packet: P, cb: () => void) => void;
  deliverQoS: (packet: P, cb: () => void) => void;
  replace(deliver0: (packet: P, cb: () => void) => void, deliverQoS: (packet: P, cb: () => void) => void): void;
}

export function deliveryOf<P>(client: Client): DeliveryInternals<P> {
  const c = clientOf(client);
  return {
    setDuplicateCounters: (counters) => void (c.duplicates = counters),
    subscriptions: () => c.subscriptions,
    deliver0: c.deliver0 as unknown as (packet: P, cb: () => void) => void,
    deliverQoS: c.deliverQoS as unknown as (packet: P, cb: () => void) => void,
    replace(deliver0, deliverQoS) {
      c.deliver0 = deliver0 as unknown as Deliver;
      c.deliverQoS = deliverQoS as unknown as Deliver;
    },
  };
}
