import { useCallback, useState } from 'react';
import type { Series } from '../api/types';
import { CabinetTable } from '../components/CabinetTable';
import { EnergyBars } from '../components/EnergyBars';
import { LightingControl } from '../components/LightingControl';
import { RangePicker } from '../components/RangePicker';
import { TrendChart } from '../components/TrendChart';
import { WardSelect } from '../components/WardSelect';
import { useI18n } from '../i18n/i18n';
import { rangeQuery, RANGES, type RangeKey } from '../lib/ranges';
import { atLeast } from '../lib/roles';
import { sunTimes } from '../lib/sun';
import { useNow } from '../live/useLive';
import { useApp } from '../session';

export default function LightingView() {
  const { t, time } = useI18n();
  const { city, session, deviceName, wardName } = useApp();
  const [range, setRange] = useState<RangeKey>('24h');
  const [ward, setWard] = useState('');
  const now = useNow(60_000);
  const q = rangeQuery(range, now);
  const sun = sunTimes(now, city.lat, city.lon);
  const label = useCallback((s: Series) => (ward ? deviceName(s.device) : wardName(s.ward)), [ward, deviceName, wardName]);
  return (
    <>
      <h1>{t('lighting.title')}</h1>
      <section className="panel schedule" aria-labelledby="sched-h">
        <h2 id="sched-h">{t('lighting.schedule')}</h2>
        {sun && (
          <ul className="schedule-list">
            <li>
              <span aria-hidden="true">☀ ↓ </span>
              {t('lighting.sunset', { time: time(sun.sunset) })}
            </li>
            <li>
              <span aria-hidden="true">☀ ↑ </span>
              {t('lighting.sunrise', { time: time(sun.sunrise) })}
            </li>
            <li>
              <span aria-hidden="true">☾ </span>
              {t('lighting.dimming')}
            </li>
          </ul>
        )}
      </section>
      <div className="toolbar">
        <WardSelect value={ward} onChange={setWard} />
        <RangePicker value={range} onChange={setRange} />
      </div>
      <div className="chart-grid">
        <TrendChart
          title={t('lighting.power')}
          query={{
            kind: 'street_light',
            fields: ['power'],
            from: q.from,
            to: q.to,
            windowMs: q.windowMs,
            aggregate: 'mean',
            ward: ward || undefined,
          }}
          label={label}
          unit="W"
          spanMs={RANGES[range].spanMs}
        />
        <EnergyBars from={q.from} to={q.to} windowMs={q.windowMs} ward={ward || undefined} />
      </div>
      <CabinetTable ward={ward} />
      {atLeast(session.user.role, 'technician') && <LightingControl />}
    </>
  );
}
