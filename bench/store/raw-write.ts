/**
 * Raw write rate of a TimeSeriesStore, called directly (no MQTT, no validation): the ceiling ingest's
 * end-to-end rate is compared against in the same run.
 *
 *   npx tsx bench/store/raw-write.ts [--readings 200000] [--batch 1000] [--fields 4] [--devices 200]
 *
 * Runs SQLite (with rollups, synchronous=NORMAL and FULL) and InfluxDB 1.6.7 via /write, prints a table.
 */
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StoredReading, TimeSeriesStore } from '@tamky/protocol';
import { openStore } from '@tamky/store';
import { startInfluxd, tempDir } from '@tamky/test-support';

export interface RawWriteOptions {
  /** Readings to write in all (default 100 000). */
  readings?: number;
  /** Readings per writeBatch call, awaited one after the other as ingest does (default 1000). */
  batchSize?: number;
  /** Values per reading (default 4). */
  fieldsPerReading?: number;
  /** Distinct devices, round-robin (default 200). */
  devices?: number;
  kind?: string;
  /** First timestamp; readings are 1 s apart per device (default: 10 days ago). */
  startTs?: number;
}

export interface RawWriteResult {
  readings: number;
  /** Field values written (readings × fieldsPerReading): a "point" each in InfluxDB's one-value-per-series sense. */
  values: number;
  seconds: number;
  readingsPerSec: number;
  valuesPerSec: number;
  /**
   * CPU seconds this process spent (user + system). On a shared, loaded machine, readings per CPU second
   * of an in-process store (SQLite) is steadier than wall time; for a server store it only counts the client.
   */
  cpuSeconds: number;
}

/** Generates readings like a city's gateways send them (several devices interleaved, each 1 s apart) and writes them in batches. */
export async function measureRawWriteRate(store: TimeSeriesStore, opts: RawWriteOptions = {}): Promise<RawWriteResult> {
  const total = opts.readings ?? 100_000;
  const batchSize = opts.batchSize ?? 1000;
  const fields = Array.from({ length: opts.fieldsPerReading ?? 4 }, (_, i) => `f${i}`);
  const devices = opts.devices ?? 200;
  const kind = opts.kind ?? 'bench';
  const start = opts.startTs ?? Math.floor((Date.now() - 10 * 86_400_000) / 1000) * 1000;
  const make = (i: number): StoredReading => {
    const d = i % devices;
    const values: Record<string, number> = {};
    for (let f = 0; f < fields.length; f++) values[fields[f]!] = Math.round((20 + f + Math.sin(i / 50)) * 100) / 100;
    return {
      kind,
      device: `dev-${d}`,
      gateway: `gw-${d % 10}`,
      ward: `ward-${d % 13}`,
      ts: start + Math.floor(i / devices) * 1000,
      seq: i,
      values,
    };
  };
  // Batches are built before the clock starts: the store's cost, not the generator's, is measured.
  const batches: StoredReading[][] = [];
  for (let i = 0; i < total; i += batchSize) batches.push(Array.from({ length: Math.min(batchSize, total - i) }, (_, j) => make(i + j)));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const b of batches) await store.writeBatch(b);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return {
    readings: total,
    values: total * fields.length,
    seconds,
    readingsPerSec: total / seconds,
    valuesPerSec: (total * fields.length) / seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const opts: RawWriteOptions = {
    readings: arg('readings', 200_000),
    batchSize: arg('batch', 1000),
    fieldsPerReading: arg('fields', 4),
    devices: arg('devices', 200),
  };
  const rows: Array<[string, RawWriteResult]> = [];
  for (const synchronous of ['normal', 'full'] as const) {
    const dir = tempDir('bench-sqlite');
    // On the calling thread: the raw write rate, without the thread ingest gives its handle.
    const store = await openStore({ type: 'sqlite', path: join(dir, 'ts.db'), synchronous, worker: false });
    rows.push([`SQLite + rollups, synchronous=${synchronous}`, await measureRawWriteRate(store, opts)]);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const influxd = await startInfluxd();
  try {
    const store = await openStore({ type: 'influxdb', url: influxd.url, api: 'v1', database: 'bench' });
    rows.push(['InfluxDB 1.6.7 /write', await measureRawWriteRate(store, opts)]);
    await store.close();
  } finally {
    await influxd.stop();
  }
  console.log(`readings=${opts.readings} batch=${opts.batchSize} fields/reading=${opts.fieldsPerReading} devices=${opts.devices}`);
  console.log('| store | readings/s | values/s | seconds | client CPU s | readings per client CPU s |\n|---|---:|---:|---:|---:|---:|');
  const n = (x: number) => Math.round(x).toLocaleString('en');
  for (const [name, r] of rows)
    console.log(
      `| ${name} | ${n(r.readingsPerSec)} | ${n(r.valuesPerSec)} | ${r.seconds.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${n(r.readings / r.cpuSeconds)} |`,
    );
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} CPUs`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
