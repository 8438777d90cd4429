import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryBatchSchema, topics } from '@tamky/protocol';
import { startMosquitto, startPtyPair, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { createSimDevice, startModbusRtuSlave, type SimDevice } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway, type Gateway } from '../src/index';
import { collector } from './helpers/broker';
import { quietLog, simCity, simDevice } from './helpers/sim';

/**
 * Real serial: the gateway's RTU driver on one end of a socat pty pair, the firmware simulator's RTU
 * slave on the other, three devices on one bus, one of them dead.
 */
describe('Modbus RTU bus over a pty', () => {
  let pty: Awaited<ReturnType<typeof startPtyPair>>;
  let slave: { close(): Promise<void> };
  let broker: Peer & { url: string };
  let gw: Gateway;
  let noise: SimDevice;
  let water: SimDevice;
  let air: SimDevice;
  let sub: Awaited<ReturnType<typeof collector>>;
  const t = Date.parse('2025-03-04T12:00:00+07:00');

  beforeAll(async () => {
    broker = await startMosquitto();
    pty = await startPtyPair();
    noise = createSimDevice(simDevice('noise_meter', 'noise-1'), { city: simCity, now: () => t });
    water = createSimDevice(simDevice('water_level', 'water-1', { mountingHeightM: 6 }), { city: simCity, now: () => t });
    air = createSimDevice(simDevice('air_station', 'air-dead'), { city: simCity, now: () => t });
    noise.pin('holding', 0, 536); // 53.6 dB(A), the SM7901 datasheet example
    water.pin('holding', 5, 12345); // 1.2345 m to the water
    air.injectFault({ type: 'no_answer' });
    slave = await startModbusRtuSlave([noise, water, air], { path: pty.a, baudRate: 9600, log: quietLog });
    sub = await collector(broker.url, topics.telemetry('gw-rtu'));
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-rtu',
      mqtt: { url: broker.url, reconnect: { baseMs: 100, maxMs: 1000 } },
      outbox: { path: join(tempDir('edge-rtu'), 'gw.db') },
      deviceBackoffMaxMs: 5000,
      buses: [{ id: 'rs485-1', type: 'rtu', path: pty.b, baudRate: 9600, timeoutMs: 1000 }],
      devices: [
        { id: 'noise-1', profile: 'noise_meter', bus: 'rs485-1', unitId: 1, pollIntervalMs: 200 },
        { id: 'water-1', profile: 'water_level', bus: 'rs485-1', unitId: 12, pollIntervalMs: 200, overrides: { level: { offset: 6 } } },
        { id: 'air-dead', profile: 'air_station', bus: 'rs485-1', unitId: 255, pollIntervalMs: 200 },
      ],
    });
    gw = await startGateway(config, { logger: quietLog });
  });

  afterAll(async () => {
    await gw?.close();
    await sub?.close();
    await slave?.close();
    await pty?.stop();
    await broker?.stop();
  });

  const readings = () => sub.messages.flatMap((m) => telemetryBatchSchema.parse(m.json).readings);
  const dev = (id: string) => gw.health().devices.find((d) => d.device === id)!;

  it('reads and scales the documented registers over real serial', async () => {
    const noiseReading = await waitFor(() => readings().find((r) => r.device === 'noise-1'), { what: 'a noise reading' });
    expect(noiseReading.values).toEqual({ laeq: { v: 53.6, u: 'dBA' } });
    const waterReading = await waitFor(() => readings().find((r) => r.device === 'water-1'), { what: 'a water reading' });
    expect(waterReading.values).toEqual({ distance: { v: 1.2345, u: 'm' }, level: { v: 4.7655, u: 'm' } });
  });

  it('a dead slave is backed off and skipped; the others keep polling without a single timeout', async () => {
    await waitFor(() => dev('noise-1').ok >= 20 && dev('water-1').ok >= 20, { what: '20 polls of each live device', timeoutMs: 30_000 });
    const dead = dev('air-dead');
    expect(dead.ok).toBe(0);
    expect(dead.timeouts).toBeGreaterThan(0);
    // Without backoff the dead unit would have been asked as often as the live ones (20+ times).
    expect(dead.timeouts).toBeLessThan(dev('noise-1').ok / 2);
    expect(dead.lastError).toMatch(/timeout/);
    // The simulator shares this process: allow one timeout from a stall of the loaded test host.
    expect(dev('noise-1').timeouts).toBeLessThanOrEqual(1);
    expect(dev('water-1').timeouts).toBeLessThanOrEqual(1);
  });

  it('the dead slave comes back once it answers again', async () => {
    air.clearFaults();
    await waitFor(() => dev('air-dead').ok > 0, { what: 'the air station to be polled again', timeoutMs: 20_000 });
    expect(dev('air-dead').backoffUntil).toBeNull();
    await waitFor(() => readings().some((r) => r.device === 'air-dead'), { what: 'an air reading' });
  });

  it('CRC errors are counted per device and do not disturb the neighbours', async () => {
    const before = dev('noise-1').ok;
    water.injectFault({ type: 'crc_error' });
    await waitFor(() => dev('water-1').crcErrors >= 2, { what: 'CRC errors counted on water-1', timeoutMs: 20_000 });
    water.clearFaults();
    expect(dev('water-1').lastError).toMatch(/crc/i);
    await waitFor(() => dev('noise-1').ok > before + 5, { what: 'noise-1 still polled' });
    expect(dev('noise-1').crcErrors).toBe(0);
  });

  it('a late answer from a slave already given up on is not taken for, nor blamed on, the next device', async () => {
    air.injectFault({ type: 'no_answer' }); // out of the way: after water-1 comes noise-1
    await waitFor(() => dev('air-dead').backoffUntil !== null, { what: 'air-dead backed off' });
    const noiseBefore = dev('noise-1');
    // water-1 answers 1100 ms late (timeout 1000 ms), noise-1 300 ms late: water-1's stale answer
    // lands in the middle of noise-1's transaction.
    noise.injectFault({ type: 'late_answer', delayMs: 300 });
    water.injectFault({ type: 'late_answer', delayMs: 1100 });
    const waterBefore = dev('water-1').timeouts;
    await waitFor(() => dev('water-1').timeouts >= waterBefore + 4, { what: 'water-1 timing out', timeoutMs: 25_000 });
    water.clearFaults();
    noise.clearFaults();
    air.clearFaults();
    expect(dev('noise-1').crcErrors).toBe(noiseBefore.crcErrors);
    expect(dev('noise-1').timeouts).toBeLessThanOrEqual(noiseBefore.timeouts + 1);
    expect(dev('noise-1').exceptions).toBe(0);
    expect(dev('noise-1').ok).toBeGreaterThan(noiseBefore.ok);
    const last = readings()
      .filter((r) => r.device === 'noise-1')
      .at(-1)!;
    expect(last.values).toEqual({ laeq: { v: 53.6, u: 'dBA' } });
  });
});
