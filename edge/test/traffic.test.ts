import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryBatchSchema, topics } from '@tamky/protocol';
import { startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type SimDevice, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway, type Gateway } from '../src/index';
import { collector } from './helpers/broker';
import { quietLog, simCity, simDevice } from './helpers/sim';

/** A traffic counter latches the last closed interval: one reading per interval, however often it is polled. */
describe('traffic counter', () => {
  let broker: Peer & { url: string };
  let counter: SimDevice;
  let slave: TcpSlave;
  let gw: Gateway;
  let sub: Awaited<ReturnType<typeof collector>>;

  beforeAll(async () => {
    broker = await startMosquitto();
    counter = createSimDevice(simDevice('traffic_counter', 'traffic-1', { lanes: 2 }), { city: simCity });
    counter.pin('input', 2, 7); // interval sequence number 7
    counter.pin('input', 10, 123); // lane 1 motorbikes
    slave = await startModbusTcpSlave([counter], { log: quietLog });
    sub = await collector(broker.url, 'city/v1/gw/gw-traffic/#');
    gw = await startGateway(
      gatewayConfigSchema.parse({
        gatewayId: 'gw-traffic',
        mqtt: { url: broker.url },
        outbox: { path: join(tempDir('edge-traffic'), 'gw.db') },
        buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
        devices: [{ id: 'traffic-1', profile: 'traffic_counter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 150 }],
      }),
      { logger: quietLog },
    );
  });
  afterAll(async () => {
    await gw?.close();
    await sub?.close();
    await slave?.close();
    await broker?.stop();
  });

  const readings = () =>
    sub.messages.filter((m) => m.topic === topics.telemetry('gw-traffic')).flatMap((m) => telemetryBatchSchema.parse(m.json).readings);

  it('publishes once per closed interval and again when the interval sequence moves', async () => {
    await waitFor(() => readings().length === 1, { what: 'the first interval' });
    const ok = () => gw.health().devices[0]!.ok;
    await waitFor(() => ok() >= 8, { what: 'several polls of the same interval' });
    expect(readings()).toHaveLength(1);
    expect(readings()[0]!.values.lane1_motorbike).toEqual({ v: 123, u: 'count' });
    expect(readings()[0]!.values.interval_seq).toBeUndefined(); // control field, not telemetry
    counter.pin('input', 2, 8);
    await waitFor(() => readings().length === 2, { what: 'the next interval' });
  });

  it('the interval length (a holding register not polled as telemetry) is writable', async () => {
    await sub.client.publishAsync(
      topics.command('gw-traffic'),
      JSON.stringify({ id: 'w-1', type: 'write_register', device: 'traffic-1', field: 'interval_setting', value: 300 }),
      { qos: 1 },
    );
    const res = await waitFor(() => sub.messages.find((m) => m.topic === topics.commandResult('gw-traffic') && m.json.id === 'w-1'), {
      what: 'write result',
    });
    expect(res.json.ok).toBe(true);
    expect(counter.read('holding', 0, 1)).toEqual([300]);
  });
});
