import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { Alarm } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { useLive } from '../live/useLive';

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
  useLive(['alarms'], (msg) => {
    if (msg.type !== 'alarm') return;
    setAlarms((m) => {
      const next = new Map(m ?? []);
      if (waiting(msg.alarm)) next.set(msg.alarm.id, msg.alarm);
      else next.delete(msg.alarm.id);
      return next;
    });
  });
  const n = alarms?.size ?? 0;
  if (n === 0) return null;
  return (
    <span className="nav-badge" data-testid="unacked-badge" aria-label={t('desk.unackedLabel', { n })}>
      {num(n, 0)}
    </span>
  );
}
