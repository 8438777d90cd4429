import { useMemo } from 'react';
import type { Alarm, WardOverview } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { firstSorted } from '../lib/alarm-rows';
import { SEVERITY_ICON } from '../lib/severity';
import { useApp } from '../session';
import { AqiBadge } from './AqiBadge';
import { isStale, StaleBadge } from './StaleBadge';
import { bySeverityThenAge } from './WallTakeover';

/** Alarm rows that fit the wall's alarm panel at any resolution (rows scale with the screen); the rest are counted. */
const WALL_ALARM_ROWS = 8;

/** How fresh each ward's data is on the panel shown, so one silent ward is marked on its own tile. */
export interface TileFreshness {
  now: number;
  /** Client-clock time of the ward's newest data of the panel's kinds (null: none yet). */
  lastAt(ward: string): number | null;
  /** Expected interval for the ward's devices of the panel's kinds; null when the ward has none (no marker). */
  expectedMs(ward: string): number | null;
}

/** " stale" for a tile whose ward's data is old: its values are dimmed so nobody reads them as current. */
function staleClass(ward: string, freshness?: TileFreshness): string {
  const expected = freshness?.expectedMs(ward);
  if (!freshness || expected === null || expected === undefined) return '';
  return isStale(freshness.lastAt(ward), expected, freshness.now) ? ' stale' : '';
}

function TileStale({ ward, freshness }: { ward: string; freshness?: TileFreshness }) {
  const expected = freshness?.expectedMs(ward);
  if (!freshness || expected === null || expected === undefined) return null;
  return <StaleBadge lastDataAt={freshness.lastAt(ward)} expectedMs={expected} now={freshness.now} small testId="tile-stale" />;
}

function byName(wards: WardOverview[], wardName: (id: string) => string) {
  return [...wards].sort((a, b) => wardName(a.ward).localeCompare(wardName(b.ward), 'vi'));
}

export function WallAir({ wards, freshness }: { wards: WardOverview[]; freshness?: TileFreshness }) {
  const { t, num } = useI18n();
  const { wardName } = useApp();
  return (
    <ul className="wall-grid">
      {byName(wards, wardName).map((w) => (
        <li key={w.ward} className={`wall-tile${staleClass(w.ward, freshness)}`} data-ward={w.ward}>
          <h2>{wardName(w.ward)}</h2>
          <TileStale ward={w.ward} freshness={freshness} />
          <AqiBadge value={w.aqi?.value} size="xl" />
          {w.noise && (
            <p className={w.noise.laeq > w.noise.limit ? 'wall-line over' : 'wall-line'}>
              {t('ward.noise')}: <strong>{num(w.noise.laeq, 0)}</strong> / {num(w.noise.limit, 0)} dB(A)
              {w.noise.laeq > w.noise.limit && <span aria-hidden="true"> ▲</span>}
            </p>
          )}
        </li>
      ))}
    </ul>
  );
}

export function WallTraffic({ wards, freshness }: { wards: WardOverview[]; freshness?: TileFreshness }) {
  const { t, num } = useI18n();
  const { wardName } = useApp();
  return (
    <ul className="wall-grid">
      {byName(wards, wardName)
        .filter((w) => w.traffic)
        .map((w) => {
          // No congestion figure yet (no index, no occupancy) reads as 0 %, as it always has.
          const c = w.traffic!.congestion ?? 0;
          return (
            <li key={w.ward} className={`wall-tile${c >= 0.7 ? ' over' : ''}${staleClass(w.ward, freshness)}`} data-ward={w.ward}>
              <h2>{wardName(w.ward)}</h2>
              <TileStale ward={w.ward} freshness={freshness} />
              <p className="wall-big">
                {num(w.traffic!.flowPerHour, 0)} <span className="wall-unit">{t('ward.perHour')}</span>
              </p>
              <div className="bar" role="img" aria-label={`${t('ward.traffic')} ${num(c * 100, 0)}%`}>
                <span style={{ width: `${Math.min(100, c * 100)}%` }} className={c >= 0.7 ? 'bar-over' : c >= 0.4 ? 'bar-mid' : 'bar-ok'} />
              </div>
              <p className="wall-line">
                {c >= 0.7 && <span aria-hidden="true">▲ </span>}
                {num(c * 100, 0)}%
              </p>
            </li>
          );
        })}
    </ul>
  );
}

export function WallLighting({ wards, freshness }: { wards: WardOverview[]; freshness?: TileFreshness }) {
  const { t } = useI18n();
  const { wardName } = useApp();
  return (
    <ul className="wall-grid">
      {byName(wards, wardName)
        .filter((w) => w.lights)
        .map((w) => (
          <li key={w.ward} className={`wall-tile${w.lights!.failed > 0 ? ' warn' : ''}${staleClass(w.ward, freshness)}`} data-ward={w.ward}>
            <h2>{wardName(w.ward)}</h2>
            <TileStale ward={w.ward} freshness={freshness} />
            <p className="wall-big">
              {w.lights!.on}/{w.lights!.total}
            </p>
            <p className="wall-line">{t('ward.lightsSummary', w.lights!)}</p>
          </li>
        ))}
    </ul>
  );
}

/**
 * The rows of the wall's alarm list: correlated children are listed under their group (the gateway's alarm), not as
 * rows of their own; the worst and oldest first. Only the rows that fit are sorted out of the list (a storm has
 * thousands; the rest are counted).
 */
function wallAlarmRows(alarms: Alarm[], rows: number) {
  const open = new Set(alarms.map((a) => a.id));
  const children = new Map<string, number>();
  const tops: Alarm[] = [];
  for (const a of alarms) {
    if (a.parentId && open.has(a.parentId)) children.set(a.parentId, (children.get(a.parentId) ?? 0) + 1);
    else tops.push(a);
  }
  return { children, shown: firstSorted(tops, rows, bySeverityThenAge), total: tops.length };
}

export function WallAlarms({ alarms }: { alarms: Alarm[] }) {
  const { t, lang, ago, num } = useI18n();
  const { wardName } = useApp();
  // Derived once per change of the list, not on every tick of the wall's clock.
  const { children, shown, total } = useMemo(() => wallAlarmRows(alarms, WALL_ALARM_ROWS), [alarms]);
  if (total === 0) return <p className="wall-big">{t('ward.noAlarms')}</p>;
  return (
    <ul className="wall-alarms">
      {shown.map((a) => (
        <li key={a.id} className={`sev-border-${a.severity}`} data-alarm={a.id}>
          <span className={`sev sev-${a.severity}`}>
            <span aria-hidden="true">{SEVERITY_ICON[a.severity]} </span>
            {t(`severity.${a.severity}`)}
          </span>{' '}
          <strong>{wardName(a.ward ?? '')}</strong> · {a.message[lang]} · {t(`state.${a.state}`)} · {ago(a.firstSeen)}
          {children.has(a.id) && (
            <span className="wall-alarm-children" data-testid="wall-children">
              {' '}
              · {t('wallx.children', { n: num(children.get(a.id)!, 0) })}
            </span>
          )}
          {a.shelfId !== null && <span className="muted"> · {t('trail.shelved')}</span>}
        </li>
      ))}
      {total > shown.length && (
        <li className="wall-alarms-more" data-testid="alarms-more">
          {t('wallx.more', { n: num(total - shown.length, 0) })}
        </li>
      )}
    </ul>
  );
}

/** Beside the wall map: wards ranked by VN_AQI, so the worst air is readable from across the room. */
export function WallAqiRanking({ wards, isStale: wardStale }: { wards: WardOverview[]; isStale(ward: string): boolean }) {
  const { t, num } = useI18n();
  const { wardName } = useApp();
  const ranked = [...wards].sort((a, b) => (b.aqi?.value ?? -1) - (a.aqi?.value ?? -1));
  return (
    <ol className="wall-ranking" aria-label={t('aqi.title')}>
      {ranked.map((w) => {
        const open = w.alarms.critical + w.alarms.major + w.alarms.minor + w.alarms.warning;
        return (
          <li key={w.ward} className={wardStale(w.ward) ? 'stale' : undefined} data-ward={w.ward}>
            <span className="wall-ranking-name">
              {wardStale(w.ward) && <span aria-hidden="true">⚠ </span>}
              {wardName(w.ward)}
              {wardStale(w.ward) && <span className="sr-only"> ({t('legend.stale')})</span>}
            </span>
            <AqiBadge value={w.aqi?.value} />
            {open > 0 && (
              <span className="wall-ranking-alarms">
                <span aria-hidden="true">▲ </span>
                {num(open, 0)}
              </span>
            )}
          </li>
        );
      })}
    </ol>
  );
}
