import { connect, type Socket } from 'node:net';
import { generate } from 'mqtt-packet';

/**
 * A minimal MQTT 3.1.1 client for load generation: pre-encoded packets written straight to a socket and a
 * frame splitter that reads only what the benchmark needs. The harness must cost far less CPU than the broker
 * it measures (mqtt.js would not), and it is the same harness for every broker compared.
 */
export class RawMqttClient {
  private buffer: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private waiters = new Map<string, () => void>();
  /** Called for every PUBLISH received: payload view (valid only during the call) and QoS. */
  onPublish: (payload: Buffer, qos: number) => void = () => undefined;
  /** Called for every PUBACK received. */
  onPuback: () => void = () => undefined;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.read(chunk));
    socket.on('error', () => undefined);
  }

  static async connect(
    port: number,
    opts: { clientId: string; username?: string; password?: string; clean?: boolean },
  ): Promise<RawMqttClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawMqttClient(socket);
    const connack = client.expect('connack');
    socket.write(
      generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: opts.clean ?? true,
        clientId: opts.clientId,
        keepalive: 0,
        ...(opts.username ? { username: opts.username, password: Buffer.from(opts.password ?? '') } : {}),
      } as Parameters<typeof generate>[0]),
    );
    const code = await connack;
    if (code !== 0) throw new Error(`CONNACK ${code} for ${opts.clientId}`);
    return client;
  }

  private lastConnack = -1;

  private expect(kind: 'connack' | 'suback'): Promise<number> {
    return new Promise((resolve) => this.waiters.set(kind, () => resolve(kind === 'connack' ? this.lastConnack : 0)));
  }

  async subscribe(filter: string, qos: 0 | 1): Promise<void> {
    const suback = this.expect('suback');
    this.socket.write(
      generate({ cmd: 'subscribe', messageId: this.nextId++, subscriptions: [{ topic: filter, qos }] } as Parameters<typeof generate>[0]),
    );
    await suback;
  }

  /** A PUBLISH template whose message id (QoS 1) is patched per send, so sending allocates one small buffer. */
  publisher(topic: string, qos: 0 | 1): (payload: Buffer) => boolean {
    const topicBytes = Buffer.from(topic);
    return (payload: Buffer) => {
      const remaining = 2 + topicBytes.length + (qos ? 2 : 0) + payload.length;
      const header = remaining < 128 ? 2 : remaining < 16384 ? 3 : 4;
      const buf = Buffer.allocUnsafe(header + remaining);
      buf[0] = 0x30 | (qos << 1);
      let n = remaining;
      let o = 1;
      do {
        let byte = n % 128;
        n = Math.floor(n / 128);
        if (n > 0) byte |= 0x80;
        buf[o++] = byte;
      } while (n > 0);
      buf.writeUInt16BE(topicBytes.length, o);
      topicBytes.copy(buf, o + 2);
      o += 2 + topicBytes.length;
      if (qos) {
        buf.writeUInt16BE(this.nextId, o);
        this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
        o += 2;
      }
      payload.copy(buf, o);
      return this.socket.write(buf);
    };
  }

  drained(): Promise<void> {
    return this.socket.writableNeedDrain ? new Promise((resolve) => this.socket.once('drain', () => resolve())) : Promise.resolve();
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    const buf = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let pos = 0;
    const acks: Buffer[] = [];
    for (;;) {
      if (buf.length - pos < 2) break;
      const type = buf[pos]! >> 4;
      const flags = buf[pos]! & 0x0f;
      let len = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (; i < buf.length && i < pos + 5; i++) {
        len += (buf[i]! & 0x7f) * mul;
        mul *= 128;
        if ((buf[i]! & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete || buf.length - i < len) break;
      const body = buf.subarray(i, i + len);
      pos = i + len;
      if (type === 3) {
        const qos = (flags >> 1) & 3;
        const topicLen = body.readUInt16BE(0);
        let o = 2 + topicLen;
        if (qos > 0) {
          acks.push(Buffer.from([0x40, 0x02, body[o]!, body[o + 1]!]));
          o += 2;
        }
        this.onPublish(body.subarray(o), qos);
      } else if (type === 4) {
        this.onPuback();
      } else if (type === 2) {
        this.lastConnack = body[1]!;
        this.waiters.get('connack')?.();
      } else if (type === 9) {
        this.waiters.get('suback')?.();
      }
    }
    this.buffer = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
    if (acks.length) this.socket.write(acks.length === 1 ? acks[0]! : Buffer.concat(acks));
  }
}
