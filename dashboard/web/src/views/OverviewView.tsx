import { useCallback } from 'react';
import type { CityModel, Role, Series, WardOverview } from '../api/types';
import { StaleBadge } from '../components/StaleBadge';
import { LazyTrendChart as TrendChart } from '../components/LazyTrendChart';
import { WardCard, type WardFreshness } from '../components/WardCard';
import { useI18n } from '../i18n/i18n';
import { expectedIntervalMs } from '../lib/city';
import { rangeQuery } from '../lib/ranges';
import { useDeviceStates } from '../live/useDeviceStates';
import { useNow } from '../live/useLive';
import { useOverview } from '../live/useOverview';
import { useApp } from '../session';
import { GeoMap } from '../map/GeoMap';
import { drillDownPath } from '../map/drill-down';
import { navigate } from '../lib/router';
import { useAfterPaint } from '../lib/after-paint';

const NO_WARDS: WardOverview[] = [];

export default function OverviewView() {
  const { t } = useI18n();
  const { city, wardName, session } = useApp();
  const now = useNow(1000);
  const { data, error, loading } = useOverview();
  // The ward values first; the map and the chart (large chunks to parse) once those are on screen.
  const panels = useAfterPaint(data !== null || error !== null);
  const expected: WardFreshness = {
    noise: expectedIntervalMs(city, 'noise_meter'),
    water: expectedIntervalMs(city, 'water_level'),
    lights: Math.max(60_000, expectedIntervalMs(city, 'street_light')),
    traffic: expectedIntervalMs(city, 'traffic_counter'),
    // VN_AQI is an hourly NowCast recomputed as readings arrive; minutes without a new value is normal.
    aqi: 5 * 60_000,
  };
  const chartRange = rangeQuery('1h', now - (now % 60_000));
  const label = useCallback((s: Series) => wardName(s.ward), [wardName]);
  const wardsSorted = [...(data?.wards ?? [])].sort((a, b) => wardName(a.ward).localeCompare(wardName(b.ward), 'vi'));
  return (
    <>
      <h1>{t('overview.title')}</h1>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {!data && loading && <p>{t('app.loading')}</p>}
      <div className="overview-top">
        <section aria-labelledby="map-h" className="panel">
          <h2 id="map-h">{t('overview.map')}</h2>
          {panels ? (
            <OverviewMap city={city} now={now} wards={data?.wards ?? NO_WARDS} role={session.user.role} />
          ) : (
            <p className="muted">{t('app.loading')}</p>
          )}
        </section>
        <section aria-labelledby="hour-h" className="panel">
          <h2 id="hour-h">{t('overview.lastHour')}</h2>
          {panels ? (
            <TrendChart
              title={t('overview.lastHour')}
              query={{
                kind: 'air_station',
                fields: ['pm25'],
                from: chartRange.from,
                to: chartRange.to,
                windowMs: 60_000,
                aggregate: 'mean',
              }}
              label={label}
              unit="µg/m³"
              spanMs={3_600_000}
              height={320}
              showTitle={false}
            />
          ) : (
            <p className="muted chart-empty">{t('app.loading')}</p>
          )}
        </section>
      </div>
      <section aria-labelledby="wards-h">
        <h2 id="wards-h">{t('overview.wards')}</h2>
        {data && data.wards.length === 0 && <StaleBadge lastDataAt={null} expectedMs={1} now={now} />}
        <div className="ward-grid">
          {wardsSorted.map((w) => (
            <WardCard key={w.ward} ward={w} name={wardName(w.ward)} now={now} expected={expected} />
          ))}
        </div>
      </section>
    </>
  );
}

/**
 * The map with every device's state. Mounted after the ward values are painted: the device states ask for the
 * latest readings of every kind, the gateways and the active alarms, which only the map shows.
 */
function OverviewMap({ city, now, wards, role }: { city: CityModel; now: number; wards: WardOverview[]; role: Role }) {
  const { states } = useDeviceStates(city, now);
  return <GeoMap city={city} deviceState={states} wards={wards} controls onSelect={(sel) => navigate(drillDownPath(sel, role))} />;
}
