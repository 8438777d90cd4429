import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type GatewayHealth } from '@tamky/protocol';
import { startMosquitto, tempDir, waitFor } from '@tamky/test-support';
import { createSimDevice, startModbusTcpSlave, type TcpSlave } from '@tamky/firmware-sim';
import { gatewayConfigSchema, startGateway, type Gateway } from '../src/index';
import { collector } from './helpers/broker';
import { quietLog, simCity, simDevice } from './helpers/sim';

/**
 * The gateway's disk fills up (its outbox on a small tmpfs, filled by another file): readings it cannot
 * commit are lost, and the count says so in its health, published while the disk is still full. When space
 * returns, readings are committed and published again; the count stays (lost is lost).
 */
let volume: string;
let broker: Awaited<ReturnType<typeof startMosquitto>>;
let slave: TcpSlave;
let gw: Gateway | undefined;
let health: Awaited<ReturnType<typeof collector>>;
let telemetry: Awaited<ReturnType<typeof collector>>;

beforeAll(async () => {
  volume = tempDir('edge-disk-full');
  // A file system of its own, small enough to fill (needs root: CI runs as root, as .ci/run installs packages).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', volume]);
  mkdirSync(join(volume, 'state'));
  broker = await startMosquitto();
  slave = await startModbusTcpSlave([createSimDevice(simDevice('noise_meter', 'noise-disk'), { city: simCity, unitId: 1 })], {
    log: quietLog,
  });
  health = await collector(broker.url, topics.health('gw-disk'));
  telemetry = await collector(broker.url, topics.telemetry('gw-disk'));
});

afterAll(async () => {
  await gw?.close();
  await health?.close();
  await telemetry?.close();
  await slave?.close();
  await broker?.stop();
  if (volume) execFileSync('umount', [volume]);
});

const lastHealth = () => health.messages.at(-1)?.json as GatewayHealth | undefined;
const published = () => telemetry.messages.flatMap((m) => (m.json as { readings: unknown[] }).readings).length;

describe('gateway on a full disk', () => {
  it('counts the readings it could not make durable, reports them in its health, and recovers when space returns', async () => {
    const config = gatewayConfigSchema.parse({
      gatewayId: 'gw-disk',
      mqtt: { url: broker.url },
      outbox: { path: join(volume, 'state/gw.db') },
      health: { intervalMs: 1000 },
      buses: [{ id: 'tcp-1', type: 'tcp', host: '127.0.0.1', port: slave.port }],
      devices: [{ id: 'noise-disk', profile: 'noise_meter', bus: 'tcp-1', unitId: 1, pollIntervalMs: 200 }],
    });
    gw = await startGateway(config, { logger: quietLog });
    await waitFor(() => published() > 0, { what: 'readings published before the disk fills' });
    expect(lastHealth()?.outbox.notDurable ?? 0).toBe(0);

    // Fill the volume: write until the kernel says there is no space left.
    const filler = join(volume, 'filler');
    const chunk = Buffer.alloc(64 * 1024, 1);
    let written = 0;
    try {
      for (;;) {
        writeFileSync(filler, chunk, { flag: 'a' });
        written += chunk.length;
      }
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    expect(written).toBeGreaterThan(0);

    const full = await waitFor(() => ((lastHealth()?.outbox.notDurable ?? 0) > 0 ? lastHealth() : undefined), {
      what: 'health reporting readings that could not be made durable',
      timeoutMs: 30_000,
    });
    expect(full.diskFreeBytes).toBeLessThan(64 * 1024);
    // The size of the volume, so the centre can tell how full it is (gateway_disk rules: 80 %, 90 %).
    expect(full.diskTotalBytes).toBe(4 * 1024 * 1024);
    expect(gw.health().outbox.notDurable).toBeGreaterThanOrEqual(full.outbox.notDurable);

    // Space returns: readings are committed and published again.
    rmSync(filler);
    const before = published();
    await waitFor(() => published() > before + 3, { what: 'readings published again after space returned', timeoutMs: 30_000 });
    const lost = gw.health().outbox.notDurable;
    await waitFor(() => lastHealth()!.diskFreeBytes! > 1024 * 1024, { what: 'health with free space again' });
    expect(lastHealth()!.outbox.notDurable).toBe(lost);
  });
});
