import { useEffect, useMemo, useState } from 'react';
import type { Alarm } from '../api/types';
import { useApi } from '../api/useApi';
import { CityMap } from '../components/CityMap';
import { LiveStatus } from '../components/LiveStatus';
import { StaleBadge } from '../components/StaleBadge';
import { WallAir, WallAlarms, WallAqiRanking, WallLighting, WallTraffic, type TileFreshness } from '../components/WallPanels';
import { useI18n } from '../i18n/i18n';
import { expectedIntervalMs } from '../lib/city';
import type { MessageKey } from '../i18n/dict';
import { useLocation } from '../lib/router';
import { useDeviceStates } from '../live/useDeviceStates';
import { useFeedState, useLive, useNow } from '../live/useLive';
import { useOverview } from '../live/useOverview';
import { useApp } from '../session';

/** A tile is marked stale after twice its devices' interval, but never sooner than this: one late batch must not flash the wall. */
const TILE_MIN_EXPECTED_MS = 15_000;

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
 * own feed went quiet, nothing needs a mouse.
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
  const alarms = useApi<{ alarms: Alarm[] }>('/api/alarms', { limit: 200 });
  useLive(['alarms'], (msg) => {
    if (msg.type === 'alarm') alarms.set((d) => (d ? { alarms: [msg.alarm, ...d.alarms.filter((a) => a.id !== msg.alarm.id)] } : d));
  });

  useEffect(() => {
    document.documentElement.classList.add('wall-mode');
    return () => document.documentElement.classList.remove('wall-mode');
  }, []);
  useEffect(() => {
    const timer = setInterval(() => setIndex((i) => (i + 1) % panels.length), rotateS * 1000);
    return () => clearInterval(timer);
  }, [rotateS, panels.length]);

  const panel = panels[index % panels.length] ?? PANELS[0]!;
  const wardAqi = useMemo(() => new Map((overview.data?.wards ?? []).map((w) => [w.ward, w.aqi?.value ?? null])), [overview.data]);
  // A panel is as fresh as the newest data of the kinds it shows; the alarm panel as fresh as the feed (pings).
  const panelLast = panel.kinds.length ? Math.max(0, ...panel.kinds.map((k) => lastDataAt.get(k) ?? 0)) || null : feed.lastFrameAt;
  const expected = panel.kinds.length ? Math.max(...panel.kinds.map((k) => expectedIntervalMs(city, k))) : 10_000;
  const wards = overview.data?.wards ?? [];
  const freshness = useMemo<TileFreshness>(
    () => ({
      now,
      lastAt: (ward) => Math.max(0, ...panel.kinds.map((k) => wardLastDataAt.get(`${k}/${ward}`) ?? 0)) || null,
      expectedMs: (ward) => {
        const polls = city.devices.filter((d) => d.ward === ward && panel.kinds.includes(d.kind)).map((d) => d.pollIntervalMs);
        return polls.length ? Math.max(TILE_MIN_EXPECTED_MS, ...polls) : null;
      },
    }),
    [now, panel, wardLastDataAt, city],
  );

  return (
    <div className="wall" data-panel={panel.id}>
      <header className="wall-head">
        <h1 className="wall-title">
          {t(panel.title)} <span className="wall-city">· {city.name}</span>
        </h1>
        <StaleBadge lastDataAt={panelLast} expectedMs={expected} now={now} big />
        <p className="wall-meta">
          <span className="sr-only">{t('wall.panel', { n: index + 1, total: panels.length, name: t(panel.title) })}</span>
          <span aria-hidden="true" className="wall-dots">
            {panels.map((p, i) => (
              <span key={p.id} className={i === index % panels.length ? 'dot on' : 'dot'} />
            ))}
          </span>
          <LiveStatus />
          <span className="wall-clock" aria-label={t('wall.clock')}>
            {time(now, true)}
          </span>
        </p>
      </header>
      <main className="wall-body" id="main" aria-live="off" data-user={session.user.role}>
        {panel.id === 'map' && (
          <div className="wall-map">
            <CityMap city={city} deviceState={states} wardAqi={wardAqi} large />
            <WallAqiRanking wards={wards} />
          </div>
        )}
        {panel.id === 'air' && <WallAir wards={wards} freshness={freshness} />}
        {panel.id === 'traffic' && <WallTraffic wards={wards} freshness={freshness} />}
        {panel.id === 'lighting' && <WallLighting wards={wards} freshness={freshness} />}
        {panel.id === 'alarms' && <WallAlarms alarms={(alarms.data?.alarms ?? []).filter((a) => a.state !== 'cleared')} />}
      </main>
    </div>
  );
}
