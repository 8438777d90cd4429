import { useId, useState } from 'react';
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
            <table className="report-table" data-testid="report-noise">
              <thead>
                <tr>
                  {[
                    'report.ward',
                    'report.noise.zone',
                    'report.noise.period',
                    'report.noise.limit',
                    'report.noise.hours',
                    'report.noise.exceeded',
                    'report.noise.maxLaeq',
                  ].map((k) => (
                    <th key={k} scope="col">
                      {L(k)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {r.noise.rows.map((x) => (
                  <tr key={`${x.ward}-${x.zone}-${x.period}`}>
                    <th scope="row">{wardName(x.ward)}</th>
                    <td>{x.zone === 'special' || x.zone === 'normal' ? L(`report.noise.zone.${x.zone}`) : x.zone}</td>
                    <td>{L(`report.noise.period.${x.period}`)}</td>
                    <td>{num(x.limit, 0)}</td>
                    <td>{num(x.hours, 0)}</td>
                    <td>{num(x.exceededHours, 0)}</td>
                    <td>{num(x.maxLaeq, 1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section aria-labelledby="r-flood">
            <h2 id="r-flood">{L('report.flood')}</h2>
            {r.flood.events.length === 0 ? (
              <p>{L('report.flood.none')}</p>
            ) : (
              <table className="report-table" data-testid="report-flood">
                <thead>
                  <tr>
                    {[
                      'report.ward',
                      'report.flood.station',
                      'report.flood.start',
                      'report.flood.end',
                      'report.flood.duration',
                      'report.flood.peak',
                      'report.flood.level',
                    ].map((k) => (
                      <th key={k} scope="col">
                        {L(k)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {r.flood.events.map((e) => (
                    <tr key={`${e.device}-${e.start}`}>
                      <th scope="row">{wardName(e.ward)}</th>
                      <td>{e.name}</td>
                      <td>{dateTime(e.start)}</td>
                      <td>{dateTime(e.end)}</td>
                      <td>{num(e.durationMin, 0)}</td>
                      <td>{num(e.peakM, 2)}</td>
                      <td>{num(e.alarmLevel, 0)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section aria-labelledby="r-alarms">
            <h2 id="r-alarms">{L('report.alarms')}</h2>
            <table className="report-table" data-testid="report-alarms">
              <thead>
                <tr>
                  {[
                    'report.alarms.severity',
                    'report.alarms.count',
                    'report.alarms.acknowledged',
                    'report.alarms.meanAck',
                    'report.alarms.medianAck',
                    'report.alarms.maxAck',
                  ].map((k) => (
                    <th key={k} scope="col">
                      {L(k)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {r.alarms.bySeverity.map((a) => (
                  <tr key={a.severity}>
                    <th scope="row">{L(`report.severity.${a.severity}`)}</th>
                    <td>{num(a.count, 0)}</td>
                    <td>{num(a.acknowledged, 0)}</td>
                    <td>{num(a.meanAckMin, 1)}</td>
                    <td>{num(a.medianAckMin, 1)}</td>
                    <td>{num(a.maxAckMin, 1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section aria-labelledby="r-lighting">
            <h2 id="r-lighting">{L('report.lighting')}</h2>
            <table className="report-table" data-testid="report-lighting">
              <thead>
                <tr>
                  {['report.ward', 'report.lighting.failures', 'report.lighting.cabinets', 'report.lighting.energy'].map((k) => (
                    <th key={k} scope="col">
                      {L(k)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {r.lighting.wards.map((w) => (
                  <tr key={w.ward}>
                    <th scope="row">{wardName(w.ward)}</th>
                    <td>{num(w.lampFailures, 0)}</td>
                    <td>{num(w.cabinetsWithFailures, 0)}</td>
                    <td>{num(w.energyKwh, 1)}</td>
                  </tr>
                ))}
                <tr>
                  <th scope="row">{L('report.lighting.total')}</th>
                  <td />
                  <td />
                  <td>{num(r.lighting.totalEnergyKwh, 1)}</td>
                </tr>
              </tbody>
            </table>
          </section>
        </article>
      )}
    </div>
  );
}
