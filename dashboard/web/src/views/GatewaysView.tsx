import type { GatewayInfo } from '../api/types';
import { useApi } from '../api/useApi';
import { FleetRollouts } from '../components/FleetRollouts';
import { GatewayCard } from '../components/GatewayCard';
import { useI18n } from '../i18n/i18n';
import { atLeast } from '../lib/roles';
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
          <GatewayCard key={g.id} gateway={g} now={now} />
        ))}
      </div>
      {atLeast(session.user.role, 'technician') && <FleetRollouts now={now} />}
    </>
  );
}
