import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { Alarm } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { useAlarmUpdates } from '../live/useAlarmUpdates';

/** Alarms waiting for someone, on the menu: active ones that are not explained by another alarm. */
const waiting = (a: Alarm) => a.state === 'active' && !a.parentId;

export function UnackedBadge() {
  const { t, num } = useI18n();
  const [alarms, setAlarms] = useState<Map<string, Alarm> | null>(null);
  useEffect(() => {
    let cancelled = false;
    api
      .get<{ alarms: Alarm[] }>('/api/alarms', { state: 'active', limit: 5000 })
      .then((d) => !cancelled && setAlarms(new Map(d.alarms.filter(waiting).map((a) => [a.id, a]))))
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, []);
  useAlarmUpdates((batch) =>
    setAlarms((m) => {
      const next = new Map(m ?? []);
      for (const a of batch) {
        if (waiting(a)) next.set(a.id, a);
        else next.delete(a.id);
      }
      return next;
    }),
  );
  const n = alarms?.size ?? 0;
  if (n === 0) return null;
  return (
    <span className="nav-badge" data-testid="unacked-badge" aria-label={t('desk.unackedLabel', { n })}>
      {num(n, 0)}
    </span>
  );
}
