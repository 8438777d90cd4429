import { useId, useState } from 'react';
import type { AuditLogEntry } from '../api/types';
import { useApi } from '../api/useApi';
import { Pager } from '../components/Pager';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/dict';

const PAGE = 50;
const ACTION_GROUPS = ['alarm.', 'auth.', 'rules.', 'registry.', 'recipients.', 'user.', 'gateway.', 'token.', 'demo.'];

/** Who changed or commanded what, when: filterable by person, kind of action and words, paged. */
export default function AdminAuditView() {
  const { t, dateTime, num } = useI18n();
  const id = useId();
  const [user, setUser] = useState('');
  const [action, setAction] = useState('');
  const [q, setQ] = useState('');
  const [page, setPage] = useState(0);
  const { data, error, loading } = useApi<{ entries: AuditLogEntry[]; total: number }>('/api/audit', {
    user: user.trim() || undefined,
    action: action || undefined,
    q: q.trim() || undefined,
    limit: PAGE,
    offset: page * PAGE,
  });
  const label = (a: string) => {
    const key = `audit.action.${a}` as MessageKey;
    const text = t(key);
    return text === key ? a : text;
  };
  const filter = (set: (v: string) => void) => (v: string) => {
    set(v);
    setPage(0);
  };
  return (
    <>
      <h1>{t('audit.title')}</h1>
      <form className="filters" aria-label={t('alarms.filters')} onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${id}-user`}>{t('audit.user')}</label>
        <input id={`${id}-user`} value={user} onChange={(e) => filter(setUser)(e.target.value)} data-testid="audit-user" />
        <label htmlFor={`${id}-action`}>{t('audit.action')}</label>
        <select id={`${id}-action`} value={action} onChange={(e) => filter(setAction)(e.target.value)} data-testid="audit-action">
          <option value="">{t('alarms.all')}</option>
          {ACTION_GROUPS.map((g) => (
            <option key={g} value={g}>
              {t(`audit.group.${g.slice(0, -1)}` as MessageKey)}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-q`}>{t('desk.search')}</label>
        <input id={`${id}-q`} type="search" value={q} onChange={(e) => filter(setQ)(e.target.value)} />
      </form>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {loading && !data && <p>{t('app.loading')}</p>}
      {data && (
        <p className="summary" data-testid="audit-total">
          {t('audit.total', { n: num(data.total, 0) })}
        </p>
      )}
      {data && data.entries.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('audit.title')}>
          <table data-testid="audit-table">
            <caption className="sr-only">{t('audit.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('dq.time')}</th>
                <th scope="col">{t('audit.user')}</th>
                <th scope="col">{t('audit.action')}</th>
                <th scope="col">{t('audit.detail')}</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e) => (
                <tr key={e.id}>
                  <td>
                    <time dateTime={new Date(e.ts).toISOString()}>{dateTime(e.ts)}</time>
                  </td>
                  <td>{e.user}</td>
                  <td>{label(e.action)}</td>
                  <td>
                    <code>
                      {Object.entries(e.detail)
                        .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
                        .join(' · ')}
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={page} total={data?.total} pageSize={PAGE} onPage={setPage} testId="audit" />
    </>
  );
}
