import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { spawnPeer, startOnFreePort, tempDir, waitFor, waitForPort, type Peer } from '@tamky/test-support';
import { connectOk, gatewayOpts, hashForTest, startOwnRedis } from './helpers';

const repo = resolve(import.meta.dirname, '../..');
// node --import tsx (not the tsx wrapper) so that signals reach the broker process itself.
const node = (script: string, args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', script, ...args]];

/**
 * A broker node as its own OS process, started through the real CLI and a YAML config, on a free port: if another
 * process took the port first (the node exits, address in use), it starts again on another.
 */
function startNode(name: string, redisUrl: string, credentialsFile: string): Promise<Peer & { port: number; url: string }> {
  return startOnFreePort(`broker node ${name}`, async (port) => {
    const dir = tempDir(`broker-${name}`);
    const config = join(dir, 'broker.yaml');
    writeFileSync(
      config,
      [
        'profile: production',
        `nodeId: ${name}`,
        `listeners: { mqtt: { host: 127.0.0.1, port: ${port} } }`,
        `credentialsFile: ${credentialsFile}`,
        `persistence: { type: redis, url: "${redisUrl}" }`,
        `cluster: { redisUrl: "${redisUrl}" }`,
      ].join('\n'),
    );
    const peer = spawnPeer(...node(join(repo, 'broker/src/cli.ts'), ['--config', config]), {
      cwd: repo,
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    const ready = async () => {
      await waitForPort(port, `broker node ${name}`, 30_000);
      return { ...peer, port, url: `mqtt://127.0.0.1:${port}` };
    };
    return { peer, ready };
  });
}

let redis: Peer & { url: string };
let nodeA: Peer & { port: number; url: string };
let nodeB: Peer & { port: number; url: string };
const clients: MqttClient[] = [];

beforeAll(async () => {
  redis = await startOwnRedis();
  const credentialsFile = join(tempDir('broker-creds'), 'credentials.yaml');
  writeFileSync(
    credentialsFile,
    [
      'gateways:',
      `  - { id: gw-a, secretHash: "${await hashForTest('secret-a')}" }`,
      'services:',
      `  - { username: ingest, role: ingest, secretHash: "${await hashForTest('secret-ingest')}" }`,
    ].join('\n'),
  );
  // One after the other: two tsx start-ups at once double each one's wait on a loaded machine (the loop saw a node
  // not listening 30 s after its start while the other started beside it).
  nodeA = await startNode('node-a', redis.url, credentialsFile);
  nodeB = await startNode('node-b', redis.url, credentialsFile);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  await redis?.stop();
});

const ingestSession = { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-cluster', clean: false };

describe('cluster mode: two broker processes sharing Redis', () => {
  it('routes a gateway on node A to a subscriber on node B', async () => {
    const sub = await connectOk(nodeB.url, { username: 'ingest', password: 'secret-ingest', clientId: 'ingest-live' });
    clients.push(sub);
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
    const gw = await connectOk(nodeA.url, gatewayOpts('gw-a', 'secret-a'));
    clients.push(gw);
    // The subscription propagates through Redis; publish until the first one arrives, then check a sequence.
    await waitFor(
      async () => {
        await gw.publishAsync('city/v1/gw/gw-a/telemetry', 'probe', { qos: 1 });
        return got.length > 0;
      },
      { what: 'first cross-node delivery', intervalMs: 200 },
    );
    for (let i = 1; i <= 10; i++) await gw.publishAsync('city/v1/gw/gw-a/telemetry', `m${i}`, { qos: 1 });
    await waitFor(() => got.includes('m10'), { what: 'ten readings across nodes' });
    expect(got.filter((m) => m !== 'probe')).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    await sub.endAsync();
    await gw.endAsync();
  });

  it('keeps a persistent session (clean=false, QoS 1) when the client moves to the other node, even after a node crash', async () => {
    const first = await connectOk(nodeB.url, ingestSession);
    await first.subscribeAsync('city/v1/gw/+/telemetry', { qos: 1 });
    await first.endAsync();

    const gw = await connectOk(nodeA.url, gatewayOpts('gw-a', 'secret-a'));
    for (let i = 1; i <= 15; i++) await gw.publishAsync('city/v1/gw/gw-a/telemetry', `q${i}`, { qos: 1 });
    await gw.endAsync();

    await nodeB.kill(); // the node the session last lived on dies; its state is in Redis

    const got: string[] = [];
    const moved = connect(nodeA.url, { ...ingestSession, reconnectPeriod: 0 });
    clients.push(moved);
    moved.on('message', (_t, p) => got.push(p.toString()));
    const sessionPresent = await new Promise<boolean>((resolve, reject) => {
      moved.once('connect', (p) => resolve(p.sessionPresent));
      moved.once('error', reject);
    });
    expect(sessionPresent).toBe(true);
    await waitFor(() => new Set(got).size >= 15, { what: `15 queued readings on node A (got ${got.length})` });
    expect([...new Set(got)]).toEqual(Array.from({ length: 15 }, (_, i) => `q${i + 1}`));
    await moved.endAsync();
  });
});
