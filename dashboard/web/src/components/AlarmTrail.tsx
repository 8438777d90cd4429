import type { AlarmDetail } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/dict';
import { channelLabel, notifyStateLabel } from '../lib/notify-labels';

/** Audit trail and notification trail of one alarm (who was told, by which channel, did it arrive). */
export function AlarmTrail({ id, version }: { id: string; version: number }) {
  const { t, dateTime } = useI18n();
  const trailAction = (action: string) => {
    const key = `trail.${action}` as MessageKey;
    const text = t(key);
    return text === key ? action : text;
  };
  const { data, error } = useApi<AlarmDetail>(`/api/alarms/${encodeURIComponent(id)}`, { v: version });
  if (error) return <p className="error">{t('app.error', { message: error })}</p>;
  if (!data) return <p>{t('app.loading')}</p>;
  return (
    <div className="alarm-trail">
      <h4>{t('alarms.audit')}</h4>
      <ol className="trail">
        {data.audit.map((a, i) => (
          <li key={i}>
            <time dateTime={new Date(a.ts).toISOString()}>{dateTime(a.ts)}</time> · <strong>{a.user}</strong> · {trailAction(a.action)}
            {a.detail ? `: ${a.detail}` : ''}
          </li>
        ))}
      </ol>
      <h4>{t('alarms.notifications')}</h4>
      {data.notifications.length === 0 ? (
        <p className="muted">{t('alarms.noNotifications')}</p>
      ) : (
        <ol className="trail" data-testid="notifications">
          {data.notifications.map((n) => (
            <li key={n.id}>
              <time dateTime={new Date(n.ts).toISOString()}>{dateTime(n.ts)}</time> · {channelLabel(t, n.channel)} → {n.recipient} ·{' '}
              <strong>{notifyStateLabel(t, n.state)}</strong>
              {n.error ? ` (${n.error})` : ''}
              {n.text && <q className="sent-text">{n.text}</q>}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
