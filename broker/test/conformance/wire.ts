import { connect, type Socket } from 'node:net';
import { generate, parser, type Packet } from 'mqtt-packet';

/**
 * One MQTT 3.1.1 connection on a raw TCP socket: sends whatever it is given (packets through mqtt-packet's
 * encoder, or hand-made bytes for what no encoder would produce) and hands back every packet received, in
 * order. No retries, no automatic acknowledgements: a conformance test says every byte it means.
 */
export class Wire {
  private readonly queue: Packet[] = [];
  private waiter: (() => void) | undefined;
  private parseError: Error | undefined;
  private isClosed = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    const p = parser({ protocolVersion: 4 });
    p.on('packet', (packet: Packet) => {
      this.queue.push(packet);
      this.wake();
    });
    p.on('error', (err: Error) => {
      this.parseError = err;
      this.wake();
    });
    socket.on('data', (chunk) => p.parse(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<Wire> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Wire(socket);
  }

  private wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  send(packet: Packet | Buffer | number[]): void {
    if (this.isClosed) return;
    this.socket.write(Buffer.isBuffer(packet) ? packet : Array.isArray(packet) ? Buffer.from(packet) : generate(packet));
  }

  /** The next packet received; undefined if the server closed the connection first. */
  async next(timeoutMs = 15_000): Promise<Packet | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.parseError) throw this.parseError;
      const p = this.queue.shift();
      if (p) return p;
      if (this.isClosed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** The next packet, which must be a `cmd`. */
  async expect<C extends Packet['cmd']>(cmd: C): Promise<Extract<Packet, { cmd: C }>> {
    const p = await this.next();
    if (!p) throw new Error(`expected ${cmd}, the server closed the connection`);
    if (p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(p)}`);
    return p as Extract<Packet, { cmd: C }>;
  }

  /** Packets received up to and including the first that `last` accepts. */
  async until(last: (p: Packet) => boolean): Promise<Packet[]> {
    const seen: Packet[] = [];
    for (;;) {
      const p = await this.next();
      if (!p) throw new Error(`the server closed the connection; received ${JSON.stringify(seen)}`);
      seen.push(p);
      if (last(p)) return seen;
    }
  }

  /**
   * Round trip: PINGREQ, and every packet received before its PINGRESP. The server handles one connection's
   * packets in order, so whatever it would answer to earlier packets arrives first.
   */
  async sync(): Promise<Packet[]> {
    this.send({ cmd: 'pingreq' });
    const seen = await this.until((p) => p.cmd === 'pingresp');
    return seen.slice(0, -1);
  }

  /** True once the server has closed the connection (false if it is still open after the wait). */
  async closedWithin(timeoutMs = 15_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const r = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(timer);
    return r;
  }

  get open(): boolean {
    return !this.isClosed;
  }

  /** Puts packets back in front of the unread ones (read past while looking for another). */
  unread(packets: Packet[]): void {
    this.queue.unshift(...packets);
  }

  /** Packets received and not yet read. */
  pending(): Packet[] {
    return this.queue.splice(0);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ConnectOptions {
  clientId: string;
  clean?: boolean;
  keepalive?: number;
  username?: string;
  password?: string;
  will?: { topic: string; payload: Buffer | string; qos?: 0 | 1 | 2; retain?: boolean };
}

/**
 * CONNECT as bytes. mqtt-packet refuses to encode a zero-length Client Identifier with Clean Session 0, which is
 * exactly what a server must be able to refuse, so that case is built by hand.
 */
export const connectBytes = (o: ConnectOptions): Buffer => {
  if (o.clientId !== '' || o.clean !== false || o.username !== undefined || o.will) return Buffer.from(generate(connectPacket(o)));
  const keepalive = o.keepalive ?? 0;
  return Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, keepalive >> 8, keepalive & 0xff, 0, 0]);
};

export const connectPacket = (o: ConnectOptions): Packet =>
  ({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: o.clean ?? true,
    clientId: o.clientId,
    keepalive: o.keepalive ?? 0,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: Buffer.from(o.password) } : {}),
    ...(o.will
      ? { will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos ?? 0, retain: o.will.retain ?? false } }
      : {}),
  }) as Packet;

/** Opens a connection, sends CONNECT and returns it with the CONNACK (which must come). */
export async function connectWire(port: number, o: ConnectOptions): Promise<{ wire: Wire; connack: Extract<Packet, { cmd: 'connack' }> }> {
  const wire = await Wire.open(port);
  wire.send(connectBytes(o));
  const connack = await wire.expect('connack');
  return { wire, connack };
}

/** Connects and requires CONNACK 0. */
export async function session(port: number, o: ConnectOptions): Promise<Wire> {
  const { wire, connack } = await connectWire(port, o);
  if (connack.returnCode !== 0) throw new Error(`CONNACK ${connack.returnCode} for ${o.clientId}`);
  return wire;
}

/** SUBSCRIBE and its SUBACK's return codes. */
export async function subscribe(wire: Wire, messageId: number, subs: { topic: string; qos: 0 | 1 | 2 }[]): Promise<number[]> {
  wire.send({ cmd: 'subscribe', messageId, subscriptions: subs } as Packet);
  // Retained messages may come before the SUBACK (Mosquitto sends them first); they stay unread.
  const seen = await wire.until((p) => p.cmd === 'suback');
  const ack = seen.pop() as Extract<Packet, { cmd: 'suback' }>;
  wire.unread(seen);
  if (ack.messageId !== messageId) throw new Error(`SUBACK for ${ack.messageId}, expected ${messageId}`);
  return ack.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
}

/** PUBLISH from `wire` and, for QoS 1/2, complete the handshake (PUBACK, or PUBREC → PUBREL → PUBCOMP). */
export async function publish(
  wire: Wire,
  topic: string,
  payload: string | Buffer,
  qos: 0 | 1 | 2 = 0,
  opts: { retain?: boolean; messageId?: number } = {},
): Promise<void> {
  const messageId = opts.messageId ?? 1 + Math.floor(Math.random() * 60_000);
  wire.send({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: opts.retain ?? false,
    dup: false,
    ...(qos > 0 ? { messageId } : {}),
  } as Packet);
  if (qos === 1) {
    const ack = await wire.expect('puback');
    if (ack.messageId !== messageId) throw new Error(`PUBACK for ${ack.messageId}, expected ${messageId}`);
  } else if (qos === 2) {
    const rec = await wire.expect('pubrec');
    if (rec.messageId !== messageId) throw new Error(`PUBREC for ${rec.messageId}, expected ${messageId}`);
    wire.send({ cmd: 'pubrel', messageId } as Packet);
    await wire.expect('pubcomp');
  }
}

/**
 * Publishes a marker at QoS 0, 1 and 2 after the messages under test: a subscriber that has read all three
 * markers (deliveriesUntil) has read everything published before them, whichever QoS queue it went through.
 */
export async function fence(pub: Wire, markerTopic: string): Promise<void> {
  for (const qos of [0, 1, 2] as const) await publish(pub, markerTopic, `marker@${qos}`, qos);
}

export type PublishPacket = Extract<Packet, { cmd: 'publish' }>;

/**
 * Reads deliveries on `wire`, acknowledging each as a well-behaved client would (PUBACK; PUBREC then PUBCOMP
 * on PUBREL), until a PUBLISH on `markerTopic` arrives. Publishing a marker after the messages under test
 * makes "nothing else was delivered" an ordered fact rather than a wait.
 */
export async function deliveriesUntil(
  wire: Wire,
  markerTopic: string,
  opts: { ack?: boolean; markers?: number } = {},
): Promise<PublishPacket[]> {
  const got: PublishPacket[] = [];
  // Distinct marker payloads: overlapping subscriptions may bring a marker more than once.
  const markers = new Set<string>();
  // QoS 2 deliveries answered with PUBREC whose PUBREL has not come yet: read on until none is left.
  const awaitingRelease = new Set<number>();
  for (;;) {
    const p = await wire.next();
    if (!p) throw new Error(`connection closed before the marker; got ${JSON.stringify(got.map((g) => [g.topic, g.qos]))}`);
    if (p.cmd === 'pubrel') {
      wire.send({ cmd: 'pubcomp', messageId: p.messageId } as Packet);
      awaitingRelease.delete(p.messageId!);
      if (markers.size === (opts.markers ?? 3) && awaitingRelease.size === 0) return got;
      continue;
    }
    if (p.cmd !== 'publish') continue;
    if (opts.ack !== false && p.qos === 1) wire.send({ cmd: 'puback', messageId: p.messageId } as Packet);
    if (opts.ack !== false && p.qos === 2) {
      wire.send({ cmd: 'pubrec', messageId: p.messageId } as Packet);
      awaitingRelease.add(p.messageId!);
    }
    if (p.topic === markerTopic) {
      markers.add(p.payload.toString());
      if (markers.size === (opts.markers ?? 3) && awaitingRelease.size === 0) return got;
      continue;
    }
    got.push(p);
  }
}
