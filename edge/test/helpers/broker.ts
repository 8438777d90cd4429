import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, requireBinary, spawnPeer, tempDir, waitFor, waitForPort, type Peer } from '@tamky/test-support';

/**
 * Debian mosquitto that can be stopped and started again on the same port with its persistence
 * (subscriptions of persistent sessions survive), to play a broker outage.
 */
export async function restartableMosquitto(): Promise<{
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}> {
  const bin = requireBinary('/usr/sbin/mosquitto', 'mosquitto');
  const dir = tempDir('edge-mosquitto');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 1000000\nmax_inflight_messages 0\n`,
  );
  let peer: Peer | undefined;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async start() {
      peer = spawnPeer(bin, ['-c', conf]);
      await waitForPort(port, 'mosquitto');
    },
    async stop() {
      await peer?.stop();
      peer = undefined;
    },
    output: () => peer?.output() ?? '',
  };
}

/** A subscriber collecting JSON messages per topic (persistent session, so nothing is missed across broker restarts). */
export async function collector(
  url: string,
  filter: string,
  clientId = `edge-test-${Math.random().toString(16).slice(2)}`,
): Promise<{ client: MqttClient; messages: Array<{ topic: string; json: any; retain: boolean }>; close(): Promise<void> }> {
  // Short connect timeout: an attempt that hits a broker while it is shutting down must not hang 30 s.
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200, connectTimeout: 2000 });
  const messages: Array<{ topic: string; json: any; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString());
    } catch {
      json = payload.toString();
    }
    messages.push({ topic, json, retain: packet.retain });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, messages, close: () => client.endAsync() };
}

export { waitFor };

/**
 * A TCP proxy in front of a broker that can be switched on and off: the network between gateway and
 * centre going away, while a test subscriber stays connected to the broker directly.
 */
export async function switchableProxy(
  targetPort: number,
): Promise<{ port: number; url: string; up(): Promise<void>; down(): Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  const port = await freePortFor();
  const sockets = new Set<import('node:net').Socket>();
  let server: import('node:net').Server | undefined;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async up() {
      server = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    },
    async down() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    },
  };
}

async function freePortFor(): Promise<number> {
  const { freePort } = await import('@tamky/test-support');
  return freePort();
}
