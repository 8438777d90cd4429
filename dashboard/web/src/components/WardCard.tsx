import type { WardOverview } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { AqiBadge } from './AqiBadge';
import { SeverityCounts } from './SeverityCounts';
import { isStale } from './StaleBadge';

export interface WardFreshness {
  /** Expected interval per section, ms. */
  noise: number;
  water: number;
  lights: number;
  traffic: number;
  aqi: number;
}

function Stale({ ts, expected, now }: { ts: number | undefined; expected: number; now: number }) {
  const { t, duration } = useI18n();
  if (ts === undefined || !isStale(ts, expected, now)) return null;
  return (
    <span className="stale-inline" data-testid="stale">
      <span aria-hidden="true">⚠ </span>
      {t('live.stale', { age: duration(now - ts) })}
    </span>
  );
}

export function WardCard({ ward, name, now, expected }: { ward: WardOverview; name: string; now: number; expected: WardFreshness }) {
  const { t, num } = useI18n();
  const noiseOver = ward.noise && ward.noise.laeq > ward.noise.limit;
  const levels = ward.water?.alarmLevels ?? [];
  return (
    <article className="ward-card" aria-labelledby={`ward-${ward.ward}`} data-ward={ward.ward}>
      <header className="ward-card-head">
        <h3 id={`ward-${ward.ward}`}>{name}</h3>
        <AqiBadge value={ward.aqi?.value} />
      </header>
      <Stale ts={ward.aqi?.ts} expected={expected.aqi} now={now} />
      <dl className="ward-metrics">
        {ward.noise && (
          <div className={noiseOver ? 'metric over' : 'metric'}>
            <dt>{t('ward.noise')}</dt>
            <dd>
              <strong data-testid="noise-value">{num(ward.noise.laeq, 1)}</strong> dB(A){' '}
              <span className="muted">
                {t('ward.noiseLimit', {
                  limit: num(ward.noise.limit, 0),
                  zone: t(ward.noise.zone === 'special' ? 'ward.zone.special' : 'ward.zone.normal'),
                })}
              </span>
              {noiseOver && (
                <span className="flag">
                  <span aria-hidden="true">▲ </span>
                  {t('ward.overLimit')}
                </span>
              )}
              <Stale ts={ward.noise.ts} expected={expected.noise} now={now} />
            </dd>
          </div>
        )}
        {ward.water && (
          <div className={ward.water.stage > 0 ? 'metric over' : 'metric'}>
            <dt>{t('ward.water')}</dt>
            <dd>
              <strong data-testid="water-value">{num(ward.water.level, 2)}</strong> m{' '}
              {ward.water.stage > 0 ? (
                <span className="flag">
                  <span aria-hidden="true">▲ </span>
                  {t('ward.waterStage', { n: ward.water.stage })}
                </span>
              ) : (
                <span className="muted">{t('ward.waterNormal')}</span>
              )}
              <span className="muted small">
                {' '}
                {t('ward.waterLevels', { a: num(levels[0], 1), b: num(levels[1], 1), c: num(levels[2], 1) })}
              </span>
              <Stale ts={ward.water.ts} expected={expected.water} now={now} />
            </dd>
          </div>
        )}
        {ward.lights && (
          <div className={ward.lights.failed > 0 ? 'metric warn' : 'metric'}>
            <dt>{t('ward.lights')}</dt>
            <dd>
              {t('ward.lightsSummary', ward.lights)}
              <Stale ts={ward.lights.ts} expected={expected.lights} now={now} />
            </dd>
          </div>
        )}
        {ward.traffic && (
          <div className={(ward.traffic.congestion ?? 0) >= 0.7 ? 'metric over' : 'metric'}>
            <dt>{t('ward.traffic')}</dt>
            <dd>
              {t('ward.trafficSummary', {
                flow: num(ward.traffic.flowPerHour, 0),
                pct: `${num((ward.traffic.congestion ?? 0) * 100, 0)}%`,
              })}
              <Stale ts={ward.traffic.ts} expected={expected.traffic} now={now} />
            </dd>
          </div>
        )}
        <div className="metric">
          <dt>{t('ward.alarms')}</dt>
          <dd>
            <SeverityCounts counts={ward.alarms} />
          </dd>
        </div>
      </dl>
    </article>
  );
}
