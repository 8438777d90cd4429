import { useMemo, useState } from 'react';
import type { Alarm, CityModel, GatewayInfo } from '../api/types';
import { useApi } from '../api/useApi';
import type { DeviceState } from '../components/CityMap';
import { readingKey, useLatestReadings } from './useReadings';
import { useLive } from './useLive';
import { liveFeed } from './feed';
import { deviceExpectedMs, isStale } from '../lib/freshness';

const KINDS = ['air_station', 'pm_sensor', 'noise_meter', 'water_level', 'street_light', 'traffic_counter'];

/** State of every device for the map: offline gateway > active alarm > stale data > ok. */
export function useDeviceStates(
  city: CityModel,
  now: number,
): { states: Map<string, DeviceState>; lastDataAt: Map<string, number>; wardLastDataAt: Map<string, number> } {
  const latest = useLatestReadings(KINDS);
  const gateways = useApi<{ gateways: GatewayInfo[] }>('/api/gateways');
  const alarms = useApi<{ alarms: Alarm[] }>('/api/alarms', { state: 'active', limit: 500 });
  const [gwState, setGwState] = useState(new Map<string, string>());
  const [alarmDevices, setAlarmDevices] = useState(new Map<string, boolean>());
  useLive(['gateways', 'alarms'], (msg) => {
    if (msg.type === 'gateway') setGwState((m) => new Map(m).set(msg.gateway.id, msg.gateway.state));
    if (msg.type === 'alarm' && msg.alarm.device) setAlarmDevices((m) => new Map(m).set(msg.alarm.device!, msg.alarm.state === 'active'));
  });
  const states = useMemo(() => {
    const gw = new Map((gateways.data?.gateways ?? []).map((g) => [g.id, g.state as string]));
    gwState.forEach((s, id) => gw.set(id, s));
    const alarmed = new Map<string, boolean>();
    for (const a of alarms.data?.alarms ?? []) if (a.device) alarmed.set(a.device, true);
    alarmDevices.forEach((v, id) => alarmed.set(id, v));
    const out = new Map<string, DeviceState>();
    for (const d of city.devices) {
      const r = latest.byKey.get(readingKey({ kind: d.kind, device: d.id }));
      const seenAt = r ? r.ts - liveFeed.state.clockOffsetMs : null;
      if (gw.get(d.gateway) === 'offline') out.set(d.id, 'offline');
      else if (alarmed.get(d.id)) out.set(d.id, 'alarm');
      else if (isStale(seenAt, deviceExpectedMs(d), now)) out.set(d.id, 'stale');
      else out.set(d.id, 'ok');
    }
    return out;
  }, [city, latest.byKey, gateways.data, alarms.data, gwState, alarmDevices, now]);
  return { states, lastDataAt: latest.lastDataAt, wardLastDataAt: latest.wardLastDataAt };
}
