/**
 * The hourly derived values alone in the city shape of run.ts (5,200 air stations, every reading in a batch
 * another device): CPU per reading of Deriver.ingest with derive.coalesceMs 0 (a recompute per device per
 * batch, as before issue #19's change) against coalescing, on a simulated clock, so load does not skew it.
 *
 *   npx tsx bench/ingest-lag/derive-cpu.ts [--rate 60000] [--seconds 60] [--coalesce-ms 0,5000]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import type { StoredReading } from '@tamky/protocol';
import { Deriver, loadLimits } from '../../ingest/src/index';
import { lagCity } from './paced-publisher';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '60000' },
    seconds: { type: 'string', default: '60' },
    'coalesce-ms': { type: 'string', default: '0,5000' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const BATCH_MS = 200;

const city = lagCity();
const limits = loadLimits(join(import.meta.dirname, '../../config/limits'));

/** Batches of BATCH_MS simulated ms, devices in turn, ts advancing with the simulated clock. */
function stream(): StoredReading[][] {
  const batches: StoredReading[][] = [];
  const perBatch = Math.round((RATE * BATCH_MS) / 1000);
  const t0 = Date.UTC(2026, 11, 7, 3);
  let i = 0;
  for (let b = 0; b < (SECONDS * 1000) / BATCH_MS; b++) {
    const batch: StoredReading[] = [];
    for (let k = 0; k < perBatch; k++, i++) {
      const d = city.devices[i % city.devices.length]!;
      const ts = t0 + Math.floor((i * 1000) / RATE);
      batch.push({
        kind: d.kind,
        device: d.id,
        gateway: d.gateway,
        ward: d.ward,
        ts,
        seq: i,
        values: { pm25: 20 + (i % 7), pm10: 40, temperature: 29, humidity: 80 },
      });
    }
    batches.push(batch);
  }
  return batches;
}

const batches = stream();
const readings = batches.reduce((n, b) => n + b.length, 0);
for (const coalesceMs of args['coalesce-ms']!.split(',').map(Number)) {
  let clock = 0;
  const deriver = new Deriver(limits, city, { coalesceMs, clock: () => clock });
  let derived = 0;
  const cpu0 = process.cpuUsage();
  for (const b of batches) {
    derived += deriver.ingest(b).length;
    clock += BATCH_MS;
  }
  derived += deriver.ingest([], true).length;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `coalesceMs ${coalesceMs}: ${readings.toLocaleString('en')} readings at ${RATE.toLocaleString('en')}/s simulated, ${derived.toLocaleString('en')} derived rows, ` +
      `${((cpu.user + cpu.system) / readings).toFixed(2)} µs CPU per reading (load ${loadavg()[0]!.toFixed(1)})`,
  );
}
