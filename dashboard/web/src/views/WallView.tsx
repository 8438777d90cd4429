import { useEffect, useMemo, useState } from 'react';
import type { Alarm } from '../api/types';
import { GeoMap } from '../map/GeoMap';
import { LiveStatus } from '../components/LiveStatus';
import { StaleBadge } from '../components/StaleBadge';
import { WallAir, WallAlarms, WallAqiRanking, WallLighting, WallTraffic, type TileFreshness } from '../components/WallPanels';
import { takeoverAlarms, UnackedCount, useAlarmSound, WallTakeoverBanner } from '../components/WallTakeover';
import { useI18n } from '../i18n/i18n';
import { expectedIntervalMs } from '../lib/city';
import { isStale, slowestExpectedMs } from '../lib/freshness';
import type { MessageKey } from '../i18n/dict';
import { useLocation } from '../lib/router';
import { useDeviceStates } from '../live/useDeviceStates';
import { useFeedState, useNow } from '../live/useLive';
import { useAlarmList } from '../live/useAlarmList';
import { useOverview } from '../live/useOverview';
import { useApp } from '../session';

const isOpen = (a: Alarm) => a.state !== 'cleared';
const OPEN_QUERY = { state: 'open', limit: 5000 };

type PanelId = 'map' | 'air' | 'traffic' | 'lighting' | 'alarms';
const PANELS: { id: PanelId; title: MessageKey; kinds: string[] }[] = [
  { id: 'map', title: 'wall.map', kinds: ['air_station', 'noise_meter', 'water_level', 'street_light', 'traffic_counter'] },
  { id: 'air', title: 'wall.air', kinds: ['air_station'] },
  { id: 'traffic', title: 'wall.traffic', kinds: ['traffic_counter'] },
  { id: 'lighting', title: 'wall.lighting', kinds: ['street_light'] },
  { id: 'alarms', title: 'wall.alarms', kinds: [] },
];

/**
 * Chrome-less wall screen: panels rotate every `?rotate=` seconds (default 15), each panel says when its
 * own feed went quiet, nothing needs a mouse. An open, unacknowledged critical or major alarm takes every
 * panel over: a banner, the rotation pinned to the alarm list, and (unless `?sound=off`) an alert tone until
 * someone acknowledges it at the desk.
 */
export default function WallView() {
  const { t, time } = useI18n();
  const { city, session } = useApp();
  const { search } = useLocation();
  const rotateS = Math.max(3, Number(search.get('rotate')) || 15);
  const only = search.get('panels')?.split(',');
  const panels = only ? PANELS.filter((p) => only.includes(p.id)) : PANELS;
  const now = useNow(1000);
  const [index, setIndex] = useState(0);
  const overview = useOverview();
  const { states, lastDataAt, wardLastDataAt } = useDeviceStates(city, now);
  const feed = useFeedState();
  // Every open alarm (the API's most), so the unacknowledged count and "+N more" stay true in a storm.
  const alarms = useAlarmList(OPEN_QUERY, isOpen);

  useEffect(() => {
    document.documentElement.classList.add('wall-mode');
    return () => document.documentElement.classList.remove('wall-mode');
  }, []);
  const openAlarms = useMemo(() => alarms.alarms ?? [], [alarms.alarms]);
  const takeover = useMemo(() => takeoverAlarms(openAlarms), [openAlarms]);
  const unacked = useMemo(() => openAlarms.filter((a) => a.state === 'active').length, [openAlarms]);
  const sound = useAlarmSound(search.get('sound') !== 'off', takeover.length > 0);
  // While an alarm takes the wall over, the rotation stops on the alarm list (or where it is, if this wall has none).
  const pinnedIndex = takeover.length ? panels.findIndex((p) => p.id === 'alarms') : -1;
  const pinned = takeover.length > 0;

  useEffect(() => {
    if (pinned) return;
    const timer = setInterval(() => setIndex((i) => (i + 1) % panels.length), rotateS * 1000);
    return () => clearInterval(timer);
  }, [rotateS, panels.length, pinned]);

  const shown = pinnedIndex >= 0 ? pinnedIndex : index % panels.length;
  const panel = panels[shown] ?? PANELS[0]!;
  // A panel is as fresh as the newest data of the kinds it shows; the alarm panel as fresh as the feed (pings).
  const panelLast = panel.kinds.length ? Math.max(0, ...panel.kinds.map((k) => lastDataAt.get(k) ?? 0)) || null : feed.lastFrameAt;
  const expected = panel.kinds.length ? Math.max(...panel.kinds.map((k) => expectedIntervalMs(city, k))) : 10_000;
  const wards = useMemo(() => overview.data?.wards ?? [], [overview.data]);
  const freshness = useMemo<TileFreshness>(
    () => ({
      now,
      lastAt: (ward) => Math.max(0, ...panel.kinds.map((k) => wardLastDataAt.get(`${k}/${ward}`) ?? 0)) || null,
      expectedMs: (ward) => slowestExpectedMs(city.devices.filter((d) => d.ward === ward && panel.kinds.includes(d.kind))),
    }),
    [now, panel, wardLastDataAt, city],
  );
  // The AQI ranking greys a ward whose air stations went quiet: a last value is not a current one.
  const airStale = (ward: string) => {
    const expected = slowestExpectedMs(city.devices.filter((d) => d.ward === ward && d.kind === 'air_station'));
    return expected !== null && isStale(wardLastDataAt.get(`air_station/${ward}`), expected, now);
  };

  return (
    <div className={pinned ? 'wall takeover' : 'wall'} data-panel={panel.id} data-pinned={pinned}>
      {sound.element}
      <header className="wall-head">
        <h1 className="wall-title">
          {t(panel.title)} <span className="wall-city">· {city.name}</span>
        </h1>
        <StaleBadge lastDataAt={panelLast} expectedMs={expected} now={now} big />
        <p className="wall-meta">
          <UnackedCount count={unacked} />
          {sound.status === 'blocked' && !pinned && (
            <button type="button" className="wall-sound-enable" onClick={sound.enable} data-testid="enable-sound">
              <span aria-hidden="true">🔊 </span>
              {t('wallx.enableSound')}
            </button>
          )}
          <span className="sr-only">{t('wall.panel', { n: shown + 1, total: panels.length, name: t(panel.title) })}</span>
          <span aria-hidden="true" className="wall-dots">
            {panels.map((p, i) => (
              <span key={p.id} className={i === shown ? 'dot on' : 'dot'} />
            ))}
          </span>
          <LiveStatus />
          <span className="wall-clock" aria-label={t('wall.clock')}>
            {time(now, true)}
          </span>
        </p>
      </header>
      <WallTakeoverBanner alarms={takeover} now={now} sound={sound} />
      <main className="wall-body" id="main" aria-live="off" data-user={session.user.role}>
        {panel.id === 'map' && (
          <div className="wall-map">
            <GeoMap city={city} deviceState={states} wards={wards} large />
            <WallAqiRanking wards={wards} isStale={airStale} />
          </div>
        )}
        {panel.id === 'air' && <WallAir wards={wards} freshness={freshness} />}
        {panel.id === 'traffic' && <WallTraffic wards={wards} freshness={freshness} />}
        {panel.id === 'lighting' && <WallLighting wards={wards} freshness={freshness} />}
        {panel.id === 'alarms' && <WallAlarms alarms={openAlarms} />}
      </main>
    </div>
  );
}
