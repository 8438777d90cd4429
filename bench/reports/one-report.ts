/**
 * Child of bench/reports/run.ts: opens the store, computes the monthly city report `--runs` times (the first
 * from a cold process), renders it once as PDF and XLSX, and prints one JSON line: wall and CPU time per run,
 * render times, the RSS peak before the first report (modules loaded, store open) and after the last.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cityModelSchema } from '@tamky/protocol';
import { loadConfigFile, loadLimits } from '@tamky/service-kit';
import { openStore, type StoreConfig } from '@tamky/store';
import { migrate, openStateDb } from '@tamky/dashboard-server';
import { buildReport } from '../../dashboard/server/src/reports/routes';
import { reportPdf } from '../../dashboard/server/src/reports/pdf';
import { reportXlsx } from '../../dashboard/server/src/reports/xlsx';
import { CORE_MIGRATIONS } from '../../dashboard/server/src/state-db';
import { ALARM_MIGRATIONS } from '../../dashboard/server/src/alarms/store';

const { values: args } = parseArgs({
  options: { store: { type: 'string' }, state: { type: 'string' }, period: { type: 'string' }, runs: { type: 'string', default: '3' } },
});
const REPO = join(import.meta.dirname, '..', '..');
const store = await openStore(JSON.parse(args.store!) as StoreConfig);
const db = openStateDb(args.state!);
migrate(db, CORE_MIGRATIONS);
migrate(db, ALARM_MIGRATIONS);
const core = {
  store,
  db,
  city: loadConfigFile(join(REPO, 'config/tam-ky/city.yaml'), cityModelSchema),
  limits: loadLimits(join(REPO, 'config/limits')),
  now: Date.now,
};
const rssMiB = () => process.resourceUsage().maxRSS / 1024;
const baselineRssMiB = rssMiB();
const runs: Array<{ wallMs: number; cpuMs: number }> = [];
let report;
for (let i = 0; i < Number(args.runs); i++) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  report = await buildReport(core, 'monthly', args.period!, undefined, undefined);
  const used = process.cpuUsage(cpu);
  runs.push({ wallMs: performance.now() - t0, cpuMs: (used.user + used.system) / 1000 });
}
const t1 = performance.now();
const pdf = await reportPdf(report!, 'vi');
const t2 = performance.now();
const xlsx = await reportXlsx(report!, 'vi');
const t3 = performance.now();
console.log(
  JSON.stringify({
    runs,
    pdfMs: t2 - t1,
    xlsxMs: t3 - t2,
    pdfBytes: pdf.length,
    xlsxBytes: xlsx.length,
    baselineRssMiB,
    peakRssMiB: rssMiB(),
    wards: report!.wards.length,
    floodEvents: report!.flood.events.length,
  }),
);
await store.close();
db.close();
