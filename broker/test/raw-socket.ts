import { connect, type Socket } from 'node:net';
import { generate } from 'mqtt-packet';

/** A bare TCP connection, for sending what no well-behaved MQTT client would. */
export async function rawConnect(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks), closed };
}

export const connectPacket = (clientId: string, extra: Record<string, unknown> = {}) =>
  generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0, ...extra } as Parameters<
    typeof generate
  >[0]);

export const subscribePacket = (messageId: number, topic: string, qos: 0 | 1 = 0) =>
  generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] } as Parameters<typeof generate>[0]);

/** CONNACK's return code if the first bytes received are a CONNACK. */
export function connackCode(bytes: Buffer): number | undefined {
  return bytes.length >= 4 && bytes[0] === 0x20 && bytes[1] === 0x02 ? bytes[3] : undefined;
}
