import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquittoDynsec, waitFor, type Peer } from '@tamky/test-support';
import { mayPublish, maySubscribe, type Identity } from '../src/index';
import { provisionDynsec } from '../src/mosquitto/dynsec-provision';
import type { DynsecProvisioning } from '../src/mosquitto/dynsec-plan';
import { connectOk, tryConnect } from './helpers';

const SECRETS = { 'gw-a': 'secret-gw-a-123', 'gw-b': 'secret-gw-b-123', ingest: 'secret-ingest-1', dashboard: 'secret-dashboard' };

const v5 = { protocolVersion: 5 as const, reconnectPeriod: 0 };

/** A v5 QoS 1 publish: Mosquitto answers a refused one with PUBACK 0x87 (not authorised). */
async function publishVerdict(client: MqttClient, topic: string): Promise<'allowed' | 'refused'> {
  try {
    await client.publishAsync(topic, 'x', { qos: 1 });
    return 'allowed';
  } catch (err) {
    if ((err as { code?: number }).code === 0x87) return 'refused';
    throw err;
  }
}

/** mqtt.js rejects a SUBACK whose only reason code is a failure. */
async function subscribeVerdict(client: MqttClient, filter: string): Promise<'allowed' | 'refused'> {
  try {
    const [granted] = await client.subscribeAsync(filter, { qos: 1 });
    return granted!.qos >= 0x80 ? 'refused' : 'allowed';
  } catch (err) {
    if ((err as Error).message.includes('Not authorized')) return 'refused';
    throw err;
  }
}

describe('Mosquitto 2 dynamic security provisioned from our ACL model', () => {
  let broker: Peer & { url: string; admin: { username: string; password: string } };
  let provisioning: DynsecProvisioning;
  const clients: MqttClient[] = [];
  const connect = async (username: keyof typeof SECRETS, clientId: string) => {
    const c = await connectOk(broker.url, { ...v5, username, password: SECRETS[username], clientId });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startMosquittoDynsec();
    provisioning = {
      admin: { url: broker.url, ...broker.admin },
      gateways: [
        { id: 'gw-a', secret: SECRETS['gw-a'] },
        { id: 'gw-b', secret: SECRETS['gw-b'] },
      ],
      services: [
        { username: 'ingest', secret: SECRETS.ingest, role: 'ingest' },
        { username: 'dashboard', secret: SECRETS.dashboard, role: 'dashboard' },
      ],
    };
    await provisionDynsec(provisioning);
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await broker?.stop();
  });

  const identities: Array<[keyof typeof SECRETS, Identity]> = [
    ['gw-a', { kind: 'gateway', gatewayId: 'gw-a', prefix: 'city/v1/gw/gw-a/' }],
    ['ingest', { kind: 'service', username: 'ingest', role: 'ingest' }],
    ['dashboard', { kind: 'service', username: 'dashboard', role: 'dashboard' }],
  ];
  const publishTopics = [
    'city/v1/gw/gw-a/telemetry',
    'city/v1/gw/gw-a/status',
    'city/v1/gw/gw-a/health',
    'city/v1/gw/gw-a/event',
    'city/v1/gw/gw-a/cmd-result',
    'city/v1/gw/gw-a/cmd',
    'city/v1/gw/gw-b/telemetry',
    'city/v1/gw/gw-b/cmd',
    'city/v1/live/readings',
    'city/v1/alarm/pm25/dev-1',
    'city/v1/config/registry',
    'city/v1/other',
  ];
  const subscribeFilters = [
    'city/v1/gw/gw-a/cmd',
    'city/v1/gw/gw-b/cmd',
    'city/v1/gw/+/cmd',
    'city/v1/gw/+/telemetry',
    'city/v1/gw/gw-a/telemetry',
    'city/v1/gw/+/status',
    'city/v1/gw/#',
    'city/v1/live/#',
    'city/v1/alarm/#',
    'city/v1/config/registry',
    '#',
  ];

  it.each(identities)('%s may publish and subscribe on Mosquitto exactly where our broker allows it', async (name, identity) => {
    const client = await connect(name, name);
    const got: string[] = [];
    const want: string[] = [];
    for (const topic of publishTopics) {
      got.push(`publish ${topic}: ${await publishVerdict(client, topic)}`);
      want.push(`publish ${topic}: ${mayPublish(identity, topic, false) ? 'refused' : 'allowed'}`);
    }
    for (const filter of subscribeFilters) {
      got.push(`subscribe ${filter}: ${await subscribeVerdict(client, filter)}`);
      want.push(`subscribe ${filter}: ${maySubscribe(identity, filter) ? 'refused' : 'allowed'}`);
    }
    expect(got).toEqual(want);
  });

  it("a gateway cannot publish on another gateway's topic: refused, and nothing reaches ingest", async () => {
    const ingest = await connect('ingest', 'ingest-watch');
    const seen: string[] = [];
    ingest.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    expect(await subscribeVerdict(ingest, '$share/ingest/city/v1/gw/+/telemetry')).toBe('allowed');
    const gwA = await connect('gw-a', 'gw-a');
    expect(await publishVerdict(gwA, 'city/v1/gw/gw-b/telemetry').catch(String)).toBe('refused');
    // One publisher's messages arrive in order: once its own reading is in, the forged one would have been too.
    await gwA.publishAsync('city/v1/gw/gw-a/telemetry', 'own', { qos: 1 });
    await waitFor(() => seen.length > 0, { what: "gw-a's own reading at ingest" });
    expect(seen).toEqual(['city/v1/gw/gw-a/telemetry own']);
  });

  it("a gateway's credentials work only with its own client id, so it cannot take over another session", async () => {
    const asIngest = await tryConnect(broker.url, { ...v5, username: 'gw-a', password: SECRETS['gw-a'], clientId: 'ingest-1' });
    expect('refused' in asIngest).toBe(true);
    const wrongSecret = await tryConnect(broker.url, { ...v5, username: 'gw-a', password: SECRETS['gw-b'], clientId: 'gw-a' });
    expect('refused' in wrongSecret).toBe(true);
    const anonymous = await tryConnect(broker.url, { ...v5, clientId: 'nobody' });
    expect('refused' in anonymous).toBe(true);
  });

  it('provisioning again is idempotent; a changed secret and a disabled gateway take effect', async () => {
    await provisionDynsec(provisioning);
    await provisionDynsec({
      ...provisioning,
      gateways: [
        { id: 'gw-a', secret: 'rotated-secret-a' },
        { id: 'gw-b', secret: SECRETS['gw-b'], disabled: true },
      ],
    });
    const old = await tryConnect(broker.url, { ...v5, username: 'gw-a', password: SECRETS['gw-a'], clientId: 'gw-a' });
    expect('refused' in old).toBe(true);
    const rotated = await connectOk(broker.url, { ...v5, username: 'gw-a', password: 'rotated-secret-a', clientId: 'gw-a' });
    clients.push(rotated);
    expect(await publishVerdict(rotated, 'city/v1/gw/gw-a/telemetry')).toBe('allowed');
    expect(await publishVerdict(rotated, 'city/v1/gw/gw-b/telemetry')).toBe('refused');
    const disabled = await tryConnect(broker.url, { ...v5, username: 'gw-b', password: SECRETS['gw-b'], clientId: 'gw-b' });
    expect('refused' in disabled).toBe(true);
  });
});
