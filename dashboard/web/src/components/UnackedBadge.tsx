import type { AlarmCount } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { useAlarmAnswer } from '../live/useAlarmAnswer';

/** Alarms waiting for someone, on the menu: the server counts them (active, not explained by another alarm). */
export function UnackedBadge() {
  const { t, num } = useI18n();
  const n = useAlarmAnswer<AlarmCount>('/api/alarms/count').data?.unacknowledged ?? 0;
  if (n === 0) return null;
  return (
    <span className="nav-badge" data-testid="unacked-badge" aria-label={t('desk.unackedLabel', { n })}>
      {num(n, 0)}
    </span>
  );
}
