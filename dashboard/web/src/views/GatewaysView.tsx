import { useMemo } from 'react';
import type { Alarm, GatewayInfo } from '../api/types';
import { useApi } from '../api/useApi';
import { FleetRollouts } from '../components/FleetRollouts';
import { GatewayCard } from '../components/GatewayCard';
import { useI18n } from '../i18n/i18n';
import { atLeast } from '../lib/roles';
import { useAlarmUpdates } from '../live/useAlarmUpdates';
import { useLive, useNow } from '../live/useLive';
import { useApp } from '../session';

export default function GatewaysView() {
  const { t } = useI18n();
  const { session } = useApp();
  const now = useNow(5000);
  const { data, error, loading, set } = useApi<{ gateways: GatewayInfo[] }>('/api/gateways');
  useLive(['gateways'], (msg) => {
    if (msg.type !== 'gateway') return;
    set((d) => (d ? { gateways: d.gateways.map((g) => (g.id === msg.gateway.id ? { ...g, ...msg.gateway } : g)) } : d));
  });
  // Each gateway's own open alarms (clock off, disk filling, outbox growing), kept current by the live feed.
  const open = useApi<{ alarms: Alarm[] }>('/api/alarms', { state: 'open' });
  useAlarmUpdates((changed) =>
    open.set((d) => {
      if (!d) return d;
      const byId = new Map(d.alarms.map((a) => [a.id, a]));
      for (const a of changed) byId.set(a.id, a);
      return { alarms: [...byId.values()].filter((a) => a.state === 'active' || a.state === 'acknowledged') };
    }),
  );
  const gatewayAlarms = useMemo(() => {
    const by = new Map<string, Alarm[]>();
    for (const a of open.data?.alarms ?? []) if (a.gateway && !a.device) by.set(a.gateway, [...(by.get(a.gateway) ?? []), a]);
    return by;
  }, [open.data]);
  // Offline first: that is what a technician on the road is looking for.
  const list = [...(data?.gateways ?? [])].sort(
    (a, b) => Number(a.state === 'online') - Number(b.state === 'online') || a.name.localeCompare(b.name, 'vi'),
  );
  const online = list.filter((g) => g.state === 'online').length;
  return (
    <>
      <h1>{t('gateways.title')}</h1>
      {data && <p className="summary">{t('gateways.summary', { online, offline: list.length - online })}</p>}
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {loading && !data && <p>{t('app.loading')}</p>}
      <div className="gateway-list">
        {list.map((g) => (
          <GatewayCard key={g.id} gateway={g} now={now} alarms={gatewayAlarms.get(g.id)} />
        ))}
      </div>
      {atLeast(session.user.role, 'technician') && <FleetRollouts now={now} />}
    </>
  );
}
