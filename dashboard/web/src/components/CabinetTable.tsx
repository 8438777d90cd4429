import { useI18n } from '../i18n/i18n';
import { lampCounts } from '../lib/lamps';
import { readingKey, useLatestReadings } from '../live/useReadings';
import { useApp } from '../session';

/** Every lighting cabinet's lamps right now (live), with power and when it last reported. */
export function CabinetTable({ ward }: { ward: string }) {
  const { t, num, ago } = useI18n();
  const { city, wardName } = useApp();
  const latest = useLatestReadings(['street_light']);
  const cabinets = city.devices.filter((d) => d.kind === 'street_light' && (!ward || d.ward === ward));
  return (
    <section className="panel" aria-labelledby="cabinets-h">
      <h2 id="cabinets-h">{t('lighting.cabinets')}</h2>
      <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="cabinets-h">
        <table data-testid="cabinets">
          <thead>
            <tr>
              <th scope="col">{t('lighting.cabinet')}</th>
              <th scope="col">{t('lighting.lampsNow')}</th>
              <th scope="col">{t('lighting.powerNow')}</th>
              <th scope="col">{t('gateways.lastSeen')}</th>
            </tr>
          </thead>
          <tbody>
            {cabinets.map((c) => {
              const r = latest.byKey.get(readingKey({ kind: c.kind, device: c.id }));
              const n = r ? lampCounts(r, c.lamps ?? 1) : null;
              return (
                <tr key={c.id} className={n && n.failed > 0 ? 'warn' : undefined}>
                  <th scope="row">
                    {c.name}
                    <br />
                    <span className="muted small">{wardName(c.ward)}</span>
                  </th>
                  <td>
                    {n ? t('lighting.lampSummary', { on: n.on, dimmed: n.dimmed, off: n.off, failed: n.failed }) : '—'}
                    {n && n.failed > 0 && <span aria-hidden="true"> ▲</span>}
                  </td>
                  <td>{r?.values.power !== undefined ? `${num(r.values.power, 0)} W` : '—'}</td>
                  <td>{r ? ago(r.ts) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
