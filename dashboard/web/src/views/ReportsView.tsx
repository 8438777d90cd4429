import { useId, useState, type ReactNode } from 'react';
import type { Report } from '@tamky/protocol';
import { buildUrl } from '../api/client';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/dict';
import { useApp } from '../session';
import { rgbCss, textOn } from '../lib/aqi';

type Kind = Report['kind'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Yesterday and last month in the city's calendar (the reports that are complete). */
function defaults(): Record<Kind, string> {
  const local = new Date(Date.now() + 7 * 3_600_000);
  const y = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - 1));
  const m = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - 1, 1));
  return {
    daily: `${y.getUTCFullYear()}-${pad(y.getUTCMonth() + 1)}-${pad(y.getUTCDate())}`,
    monthly: `${m.getUTCFullYear()}-${pad(m.getUTCMonth() + 1)}`,
  };
}

/** The daily and monthly reports, printable (print CSS hides the app's chrome), with PDF and Excel downloads. */
export default function ReportsView() {
  const { t, num, lang, dateTime } = useI18n();
  const { city, wardName } = useApp();
  const [kind, setKind] = useState<Kind>('monthly');
  const [periods, setPeriods] = useState(defaults);
  const [ward, setWard] = useState('');
  const period = periods[kind];
  const query = { period, ...(ward ? { ward } : {}) };
  const { data: r, error, loading } = useApi<Report>(period ? `/api/reports/${kind}` : null, query);
  const ids = { kind: useId(), period: useId(), ward: useId() };
  const L = (key: string, params?: Record<string, string | number>) => t(key as MessageKey, params);

  return (
    <div className="reports">
      <form className="toolbar no-print" aria-label={t('reports.controls')} onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={ids.kind}>
          {t('reports.kind')}
          <select id={ids.kind} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            <option value="monthly">{t('reports.kind.monthly')}</option>
            <option value="daily">{t('reports.kind.daily')}</option>
          </select>
        </label>
        <label htmlFor={ids.period}>
          {t('reports.period')}
          <input
            id={ids.period}
            type={kind === 'monthly' ? 'month' : 'date'}
            value={period}
            onChange={(e) => setPeriods((p) => ({ ...p, [kind]: e.target.value }))}
          />
        </label>
        <label htmlFor={ids.ward}>
          {t('report.ward')}
          <select id={ids.ward} value={ward} onChange={(e) => setWard(e.target.value)}>
            <option value="">{t('report.scope.city')}</option>
            {city.wards.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="btn" onClick={() => window.print()}>
          {t('reports.print')}
        </button>
        <a className="btn" href={buildUrl(`/api/reports/${kind}`, { ...query, format: 'pdf', lang })} download data-testid="report-pdf">
          {t('reports.pdf')}
        </a>
        <a className="btn" href={buildUrl(`/api/reports/${kind}`, { ...query, format: 'xlsx', lang })} download data-testid="report-xlsx">
          {t('reports.xlsx')}
        </a>
      </form>
      {error && <p role="alert">{t('app.error', { message: error })}</p>}
      {loading && !r && <p>{t('app.loading')}</p>}
      {r && (
        <article className="report" data-testid="report">
          <header>
            <h1>{L(r.kind === 'daily' ? 'report.title.daily' : 'report.title.monthly', { period: r.period })}</h1>
            <p>{r.ward ? L('report.scope.ward', { ward: wardName(r.ward) }) : L('report.scope.city')}</p>
            <p className="report-generated">{L('report.generated', { time: dateTime(r.generatedAt) })}</p>
          </header>

          <section aria-labelledby="r-air">
            <h2 id="r-air">{L('report.air')}</h2>
            <table className="report-table" data-testid="report-air">
              <thead>
                <tr>
                  <th scope="col">{L('report.ward')}</th>
                  {r.air.levels.map((l) => (
                    <th key={l.id} scope="col" style={{ background: rgbCss(l.rgb), color: textOn(l.rgb) }}>
                      {l[lang]}
                    </th>
                  ))}
                  <th scope="col">{L('report.air.noData')}</th>
                  <th scope="col">{L('report.air.maxAqi')}</th>
                </tr>
              </thead>
              <tbody>
                {r.air.wards.map((w) => (
                  <tr key={w.ward}>
                    <th scope="row">{wardName(w.ward)}</th>
                    {r.air.levels.map((l) => (
                      <td key={l.id}>{num(w.daysByLevel[l.id] ?? 0, 0)}</td>
                    ))}
                    <td>{num(w.noDataDays, 0)}</td>
                    <td>{num(w.maxAqi, 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section aria-labelledby="r-noise">
            <h2 id="r-noise">{L('report.noise', { edition: r.noise.edition })}</h2>
            <ReportTable
              testId="report-noise"
              columns={[
                'report.ward',
                'report.noise.zone',
                'report.noise.period',
                'report.noise.limit',
                'report.noise.hours',
                'report.noise.exceeded',
                'report.noise.maxLaeq',
              ].map((k) => L(k))}
              rows={r.noise.rows.map((x) => ({
                key: `${x.ward}-${x.zone}-${x.period}`,
                head: wardName(x.ward),
                cells: [
                  x.zone === 'special' || x.zone === 'normal' ? L(`report.noise.zone.${x.zone}`) : x.zone,
                  L(`report.noise.period.${x.period}`),
                  num(x.limit, 0),
                  num(x.hours, 0),
                  num(x.exceededHours, 0),
                  num(x.maxLaeq, 1),
                ],
              }))}
            />
          </section>

          <section aria-labelledby="r-flood">
            <h2 id="r-flood">{L('report.flood')}</h2>
            {r.flood.events.length === 0 ? (
              <p>{L('report.flood.none')}</p>
            ) : (
              <ReportTable
                testId="report-flood"
                columns={[
                  'report.ward',
                  'report.flood.station',
                  'report.flood.start',
                  'report.flood.end',
                  'report.flood.duration',
                  'report.flood.peak',
                  'report.flood.level',
                ].map((k) => L(k))}
                rows={r.flood.events.map((e) => ({
                  key: `${e.device}-${e.start}`,
                  head: wardName(e.ward),
                  cells: [e.name, dateTime(e.start), dateTime(e.end), num(e.durationMin, 0), num(e.peakM, 2), num(e.alarmLevel, 0)],
                }))}
              />
            )}
          </section>

          <section aria-labelledby="r-alarms">
            <h2 id="r-alarms">{L('report.alarms')}</h2>
            <ReportTable
              testId="report-alarms"
              columns={[
                'report.alarms.severity',
                'report.alarms.count',
                'report.alarms.acknowledged',
                'report.alarms.meanAck',
                'report.alarms.medianAck',
                'report.alarms.maxAck',
              ].map((k) => L(k))}
              rows={r.alarms.bySeverity.map((a) => ({
                key: a.severity,
                head: L(`report.severity.${a.severity}`),
                cells: [num(a.count, 0), num(a.acknowledged, 0), num(a.meanAckMin, 1), num(a.medianAckMin, 1), num(a.maxAckMin, 1)],
              }))}
            />
          </section>

          <section aria-labelledby="r-lighting">
            <h2 id="r-lighting">{L('report.lighting')}</h2>
            <ReportTable
              testId="report-lighting"
              columns={['report.ward', 'report.lighting.failures', 'report.lighting.cabinets', 'report.lighting.energy'].map((k) => L(k))}
              rows={[
                ...r.lighting.wards.map((w) => ({
                  key: w.ward,
                  head: wardName(w.ward),
                  cells: [num(w.lampFailures, 0), num(w.cabinetsWithFailures, 0), num(w.energyKwh, 1)],
                })),
                { key: 'total', head: L('report.lighting.total'), cells: ['', '', num(r.lighting.totalEnergyKwh, 1)] },
              ]}
            />
          </section>
        </article>
      )}
    </div>
  );
}

interface ReportRow {
  key: string;
  /** The row's header cell (a ward, a severity). */
  head: ReactNode;
  cells: ReactNode[];
}

/** One report section's table: column headers, then a header cell and data cells per row. */
function ReportTable({ testId, columns, rows }: { testId: string; columns: string[]; rows: ReportRow[] }) {
  return (
    <table className="report-table" data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <th scope="row">{row.head}</th>
            {row.cells.map((c, i) => (
              <td key={i}>{c}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
