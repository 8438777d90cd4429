/**
 * A month's city report on each store (SQLite; Debian InfluxDB 1.6.7): wall time, CPU time and peak RSS of a
 * fresh process computing the monthly report of the whole city, plus rendering it as PDF and XLSX.
 *
 *   npx tsx bench/reports/run.ts [--runs 3] [--stores sqlite,influxdb]
 *
 * The month: every air station, noise meter, street-light cabinet and water-level station of config/tam-ky
 * (dashboard/server/test/report-month.ts: 10-minute readings, water levels every minute, two floods per
 * station), with the derived hourly kinds ingest computes (its Deriver). The report reads rollups and derived
 * hours only, so its cost follows devices × hours, not the raw rate. Appends a dated section to RESULTS.md.
 * Not a test: nothing fails on a number; the machine is shared.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cityModelSchema, type StoredReading } from '@tamky/protocol';
import { loadConfigFile, loadLimits } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { Deriver } from '@tamky/ingest';
import { startInfluxd, tempDir } from '@tamky/test-support';
import { LOCAL_OFFSET, monthCity, monthReadings } from '../../dashboard/server/test/report-month';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, stores: { type: 'string', default: 'sqlite,influxdb' } },
});
const REPO = join(import.meta.dirname, '..', '..');
const PERIOD = '2026-11';
const FROM = Date.UTC(2026, 10, 1) - LOCAL_OFFSET;
const TO = Date.UTC(2026, 11, 1) - LOCAL_OFFSET;
const fullCity = loadConfigFile(join(REPO, 'config/tam-ky/city.yaml'), cityModelSchema);
const city = monthCity(
  fullCity,
  fullCity.wards.map((w) => w.id),
);

async function seed(config: StoreConfig): Promise<{ raw: number; derived: number; seedS: number }> {
  const store = await openStore(config);
  const deriver = new Deriver(loadLimits(join(REPO, 'config/limits')), city);
  const t0 = performance.now();
  let raw = 0;
  const derived = new Map<string, StoredReading>();
  let batch: StoredReading[] = [];
  for (const chunk of monthReadings({ from: FROM, to: TO, devices: city.devices })) {
    raw += chunk.length;
    for (const d of deriver.ingest(chunk)) derived.set(`${d.kind}|${d.device}|${d.ts}`, d);
    batch.push(...chunk);
    if (batch.length >= 20_000) {
      await store.writeBatch(batch);
      batch = [];
    }
  }
  if (batch.length) await store.writeBatch(batch);
  const rows = [...derived.values()];
  for (let i = 0; i < rows.length; i += 20_000) await store.writeBatch(rows.slice(i, i + 20_000));
  await store.close();
  return { raw, derived: rows.length, seedS: (performance.now() - t0) / 1000 };
}

interface Child {
  runs: Array<{ wallMs: number; cpuMs: number }>;
  pdfMs: number;
  xlsxMs: number;
  pdfBytes: number;
  xlsxBytes: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  wards: number;
  floodEvents: number;
}

function measure(config: StoreConfig, dir: string): Child {
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'one-report.ts'),
      '--store',
      JSON.stringify(config),
      '--state',
      join(dir, 'state.db'),
      '--period',
      PERIOD,
      '--runs',
      args.runs,
    ],
    { encoding: 'utf8', cwd: REPO, timeout: 600_000 },
  );
  if (child.status !== 0) throw new Error(`one-report failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Child;
}

const rows: string[] = [];
const stores = args.stores.split(',');
for (const name of stores) {
  const dir = tempDir('bench-reports');
  const influx = name === 'influxdb' ? await startInfluxd() : undefined;
  try {
    const config: StoreConfig = influx
      ? { type: 'influxdb', api: 'v1', url: influx.url, database: 'bench' }
      : { type: 'sqlite', path: join(dir, 'readings.db') };
    const seeded = await seed(config);
    const r = measure(config, dir);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
    const line = `| ${name} | ${seeded.raw.toLocaleString('en')} raw + ${seeded.derived.toLocaleString('en')} derived (seeded in ${seeded.seedS.toFixed(0)} s) | ${fmt(r.runs.map((x) => x.wallMs))} | ${fmt(r.runs.map((x) => x.cpuMs))} | ${r.pdfMs.toFixed(0)} / ${r.xlsxMs.toFixed(0)} | ${r.baselineRssMiB.toFixed(0)} → ${r.peakRssMiB.toFixed(0)} |`;
    console.log(line, JSON.stringify({ wards: r.wards, floodEvents: r.floodEvents, pdfBytes: r.pdfBytes, xlsxBytes: r.xlsxBytes }));
    rows.push(line);
  } finally {
    await influx?.stop();
  }
}

const section = [
  '',
  `## ${new Date().toISOString().slice(0, 10)}: monthly city report (${city.devices.length} devices, ${city.wards.length} wards, ${PERIOD})`,
  '',
  `Command: \`npx tsx bench/reports/run.ts --runs ${args.runs} --stores ${args.stores}\``,
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} (shared machine).`,
  '',
  '| store | data | report wall ms (run 1 cold / 2 / 3) | report CPU ms | PDF / XLSX render ms | RSS MiB (store open → peak) |',
  '|---|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
appendFileSync(join(import.meta.dirname, 'RESULTS.md'), section);
console.log(section);
