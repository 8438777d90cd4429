import { useState } from 'react';
import type { AlarmNotification } from '../api/types';
import { useApi } from '../api/useApi';
import { Link } from '../components/Link';
import { Pager } from '../components/Pager';
import { useI18n } from '../i18n/i18n';
import { channelLabel, notifyStateLabel } from '../lib/notify-labels';

const PAGE = 50;

/** Every notification the centre sent or tried to send: to whom, how, what it said, what became of it. */
export default function AdminMessagesView() {
  const { t, dateTime, num } = useI18n();
  const [page, setPage] = useState(0);
  const { data, error, loading } = useApi<{ configured: boolean; total: number; items: AlarmNotification[] }>('/api/admin/notifications', {
    limit: PAGE,
    offset: page * PAGE,
  });
  return (
    <>
      <h1>{t('messages.title')}</h1>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {loading && !data && <p>{t('app.loading')}</p>}
      {data && !data.configured && <p className="muted">{t('messages.notConfigured')}</p>}
      {data && (
        <p className="summary" data-testid="messages-total">
          {t('messages.total', { n: num(data.total, 0) })}
        </p>
      )}
      {data && data.items.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('messages.title')}>
          <table data-testid="messages-table">
            <caption className="sr-only">{t('messages.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('dq.time')}</th>
                <th scope="col">{t('messages.alarm')}</th>
                <th scope="col">{t('messages.recipient')}</th>
                <th scope="col">{t('messages.channel')}</th>
                <th scope="col">{t('messages.text')}</th>
                <th scope="col">{t('messages.state')}</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((m) => (
                <tr key={m.id} data-message={m.id}>
                  <td>
                    <time dateTime={new Date(m.ts).toISOString()}>{dateTime(m.ts)}</time>
                  </td>
                  <td>
                    <Link href={`/alarms/${m.alarmId}`}>#{m.alarmId}</Link>
                  </td>
                  <td>
                    {m.recipient}
                    <br />
                    <span className="muted">{m.address}</span>
                  </td>
                  <td>{channelLabel(t, m.channel)}</td>
                  <td>{m.text ?? <span className="muted">{t('messages.notYet')}</span>}</td>
                  <td>
                    {notifyStateLabel(t, m.state)}
                    {m.error ? <span className="muted"> ({m.error})</span> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={page} total={data?.total} pageSize={PAGE} onPage={setPage} />
    </>
  );
}
