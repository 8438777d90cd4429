import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { requireBinary, spawnPeer, startMosquitto, tempDir, waitFor, type Peer } from '@tamky/test-support';
import { startSds011 } from '@tamky/firmware-sim';
import { telemetryBatchSchema, topics } from '@tamky/protocol';
import { encodeSds011Frame, gatewayConfigSchema, LineParser, Sds011Parser, startGateway } from '../src/index';
import { collector } from './helpers/broker';
import { quietLog } from './helpers/sim';

describe('UART frame parsers', () => {
  it('SDS011: resynchronises after noise, rejects a bad checksum, splits frames across chunks', () => {
    const frames: Array<Record<string, number>> = [];
    const bad: string[] = [];
    const p = new Sds011Parser({ onFrame: (v) => frames.push(v), onBadFrame: (k) => bad.push(k) });
    const good = encodeSds011Frame(12.3, 45.6);
    const corrupt = Buffer.from(good);
    corrupt[8] = (corrupt[8]! + 1) & 0xff;
    const stream = Buffer.concat([Buffer.from([0x00, 0xaa, 0x13]), good, corrupt, good]);
    p.push(stream.subarray(0, 7));
    p.push(stream.subarray(7));
    expect(frames.map((f) => [f.pm25, f.pm10])).toEqual([
      [12.3, 45.6],
      [12.3, 45.6],
    ]);
    expect(bad).toEqual(['crc']);
  });

  it('line protocol: named groups become values; junk lines are counted, not fatal', () => {
    const frames: Array<Record<string, number>> = [];
    const bad: string[] = [];
    const p = new LineParser('\n', 'PM2\\.5=(?<pm25>[\\d.]+)\\s+PM10=(?<pm10>[\\d.]+)', {
      onFrame: (v) => frames.push(v),
      onBadFrame: (k, d) => bad.push(d),
    });
    p.push(Buffer.from('PM2.5=12.5 PM10=20\r\ngarbage\nPM2.5=1'));
    p.push(Buffer.from('3 PM10=7.5\n'));
    expect(frames).toEqual([
      { pm25: 12.5, pm10: 20 },
      { pm25: 13, pm10: 7.5 },
    ]);
    expect(bad).toHaveLength(1);
  });
});

/** socat pty pair with stable symlink names, so it can be torn down and recreated at the same path (a USB adapter unplugged and plugged back). */
async function ptyAt(dir: string): Promise<Peer & { a: string; b: string }> {
  const socat = requireBinary('socat', 'socat');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const peer = spawnPeer(socat, [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  await waitFor(() => existsSync(a) && existsSync(b), { what: 'socat ptys' });
  return { ...peer, a, b };
}

describe('UART sensors through the gateway', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('SDS011 frames from the simulator become pm_sensor readings; an unplugged port is reopened', async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = tempDir('edge-uart');
    let pty = await ptyAt(dir);
    let sensor = await startSds011({ path: pty.a, device: { pm25: () => 23.4, pm10: () => 56.7 }, intervalMs: 100 });
    const sub = await collector(broker.url, 'city/v1/gw/gw-uart/#');
    cleanup.push(() => sub.close());
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-uart',
      mqtt: { url: broker.url },
      outbox: { path: join(dir, 'gw.db') },
      buses: [{ id: 'sds-1', type: 'sds011', path: pty.b }],
      devices: [{ id: 'pm-1', profile: 'pm_sensor_sds011', bus: 'sds-1', pollIntervalMs: 200 }],
    });
    const gw = await startGateway(config, { logger: quietLog });
    cleanup.push(() => gw.close());
    const readings = () =>
      sub.messages.filter((m) => m.topic === topics.telemetry('gw-uart')).flatMap((m) => telemetryBatchSchema.parse(m.json).readings);
    const r = await waitFor(() => readings()[0], { what: 'an SDS011 reading' });
    expect(r.values).toEqual({ pm25: { v: 23.4, u: 'ug/m3' }, pm10: { v: 56.7, u: 'ug/m3' } });

    // Unplug: the pty pair disappears, the gateway's port closes.
    await sensor.close();
    await pty.stop();
    const events = () => sub.messages.filter((m) => m.topic === topics.event('gw-uart')).map((m) => m.json);
    await waitFor(() => events().some((e) => e.type === 'bus_lost'), { what: 'a bus_lost event' });
    // Plug back in at the same path: the gateway reopens it by itself and readings resume.
    pty = await ptyAt(dir);
    cleanup.push(() => pty.stop());
    sensor = await startSds011({ path: pty.a, device: { pm25: () => 7.1, pm10: () => 9.2 }, intervalMs: 100 });
    cleanup.push(() => sensor.close());
    await waitFor(() => readings().some((x) => x.values.pm25?.v === 7.1), { what: 'readings after the port came back', timeoutMs: 30_000 });
    expect(events().some((e) => e.type === 'bus_open')).toBe(true);
  });

  it('a text-line sensor through the line driver', async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const dir = tempDir('edge-line');
    const pty = await ptyAt(dir);
    cleanup.push(() => pty.stop());
    const sub = await collector(broker.url, topics.telemetry('gw-line'));
    cleanup.push(() => sub.close());
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-line',
      mqtt: { url: broker.url },
      outbox: { path: join(dir, 'gw.db') },
      buses: [{ id: 'line-1', type: 'line', path: pty.b, delimiter: '\n', pattern: 'PM2\\.5=(?<pm25>[\\d.]+)\\s+PM10=(?<pm10>[\\d.]+)' }],
      devices: [{ id: 'pm-line', profile: 'pm_sensor_sds011', bus: 'line-1', pollIntervalMs: 200 }],
    });
    const gw = await startGateway(config, { logger: quietLog });
    cleanup.push(() => gw.close());
    const port = new SerialPort({ path: pty.a, baudRate: 9600 });
    port.on('error', () => undefined);
    cleanup.push(() => new Promise((r) => port.close(r)));
    const timer = setInterval(() => port.write('PM2.5=31.5 PM10=40.25\r\n'), 100);
    cleanup.push(async () => clearInterval(timer));
    const r = await waitFor(() => sub.messages.flatMap((m) => telemetryBatchSchema.parse(m.json).readings)[0], { what: 'a line reading' });
    expect(r.values).toEqual({ pm25: { v: 31.5, u: 'ug/m3' }, pm10: { v: 40.25, u: 'ug/m3' } });
  });
});
