import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmEventSchema, filters, topics, type AlarmEvent, type TimeSeriesStore } from '@tamky/protocol';
import { createLogger } from '@tamky/service-kit';
import { hashSecret, startBroker, type BrokerHandle } from '@tamky/broker';
import { openStore } from '@tamky/store';
import { startIngestWithAlarms, type IngestWithAlarms } from '@tamky/ingest';
import { startInfluxd, tempDir, waitFor } from '@tamky/test-support';
import { airBatch, testCity } from '../ingest/test/helpers/fixtures';
import { REPO_ROOT } from '../bench/faults/city';
import { startHttpRefuser, type HttpRefuser } from '../bench/faults/http-refuser';

/**
 * The store refusing writes with the production default store: InfluxDB 1.6.7 behind a proxy that answers
 * /write with 503. Ingest holds the readings, the alarm is raised (published while ingest is away from the
 * broker) and clears with the first durable write; every reading is stored once. Ingest reports no disk for
 * a server store (its disk is on InfluxDB's host): a rule that would fire on any disk report never does.
 */
const log = createLogger('self-watch-influxdb-test', { level: process.env.TEST_LOG ?? 'silent' });
const dir = tempDir('self-watch-influx');
let influx: Awaited<ReturnType<typeof startInfluxd>>;
let refuser: HttpRefuser;
let broker: BrokerHandle;
let store: TimeSeriesStore;
let ingest: IngestWithAlarms | undefined;
let watcher: MqttClient;
let gateway: MqttClient;
const events: AlarmEvent[] = [];

const RULES = `
rules:
  - { id: refusing, type: system, check: store_write_failing_s, category: system, severity: major, op: '>=', value: 1, repeatEveryS: 1 }
  - { id: any-disk, type: system, check: disk_used_percent, category: system, severity: warning, op: '>=', value: 0, repeatEveryS: 1 }
`;

beforeAll(async () => {
  influx = await startInfluxd();
  refuser = await startHttpRefuser(influx.url);
  const hash = (s: string) => hashSecret(s, { N: 1024 });
  broker = await startBroker(
    {
      profile: 'production',
      listeners: { mqtt: { host: '127.0.0.1', port: 0 } },
      credentials: {
        gateways: [{ id: 'gw-a', secretHash: await hash('gw-a-secret') }],
        services: [
          { username: 'ingest', role: 'ingest', secretHash: await hash('ingest-secret') },
          { username: 'dashboard', role: 'dashboard', secretHash: await hash('dashboard-secret') },
        ],
      },
      selfWatch: { enabled: false },
    },
    { logger: log },
  );
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  watcher = await mqtt.connectAsync(url, {
    username: 'dashboard',
    password: 'dashboard-secret',
    clientId: 'dashboard-watch',
    reconnectPeriod: 0,
  });
  watcher.on('message', (_topic, payload) => events.push(alarmEventSchema.parse(JSON.parse(payload.toString()))));
  await watcher.subscribeAsync(filters.allAlarms, { qos: 1 });
  const storeConfig = { type: 'influxdb' as const, api: 'v1' as const, url: refuser.url, database: 'city' };
  store = await openStore(storeConfig, { logger: log });
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, RULES);
  ingest = await startIngestWithAlarms(
    {
      mqtt: { url, username: 'ingest', password: 'ingest-secret', clientId: 'ingest-1' },
      store: storeConfig,
      limitsDir: join(REPO_ROOT, 'config/limits'),
      registry: { follow: false, startWaitMs: 0 },
      backpressure: { retryBaseMs: 50, retryMaxMs: 200 },
      alarms: { enabled: true, rulesFile },
      selfWatch: { intervalMs: 200 },
    },
    { store, city: testCity(), logger: log },
  );
  gateway = await mqtt.connectAsync(url, { username: 'gw-a', password: 'gw-a-secret', clientId: 'gw-a', reconnectPeriod: 200 });
});

afterAll(async () => {
  await gateway?.endAsync();
  await ingest?.close();
  await store?.close();
  await watcher?.endAsync();
  await broker?.close();
  await refuser?.close();
  await influx?.stop();
});

const event = (ruleId: string, state: AlarmEvent['state'], from: number) =>
  waitFor(() => events.slice(from).find((e) => e.ruleId === ruleId && e.sourceId === 'ingest-1.store' && e.state === state), {
    timeoutMs: 30_000,
    what: `${ruleId} ${state}`,
  });

describe('system alarms with an InfluxDB store', () => {
  it('InfluxDB refusing writes raises the alarm, which clears with the first durable write; nothing is lost', async () => {
    refuser.setRefusing(true);
    const from = events.length;
    const ts0 = Date.now() - 600_000;
    for (let i = 0; i < 4; i++)
      await gateway.publishAsync(topics.telemetry('gw-a'), JSON.stringify(airBatch('gw-a', 'gw-a-air', 1 + i * 50, 50, ts0)), { qos: 1 });
    const raised = await event('refusing', 'raised', from);
    expect(raised.severity).toBe('major');
    expect(raised.message.en).toMatch(/^ingest-1: the store has refused writes for \d+ s \(.+\); readings wait in the broker$/);
    expect(refuser.refused()).toBeGreaterThan(0);

    const back = events.length;
    refuser.setRefusing(false);
    await event('refusing', 'cleared', back);
    await waitFor(async () => (await store.sequences('gw-a')).filter((s) => s >= 0).length === 200, {
      what: 'every reading stored once the store writes again',
    });
    expect((await store.sequences('gw-a')).filter((s) => s >= 0)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // No disk report from ingest for a server store: the rule that would fire on any never did.
    expect(events.filter((e) => e.ruleId === 'any-disk')).toEqual([]);
  });
});
