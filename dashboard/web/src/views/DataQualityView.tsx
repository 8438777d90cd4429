import type { DeadLetter } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';

/** Dead letters: what ingest rejected and why, so technicians can fix the profile or the device. */
export default function DataQualityView() {
  const { t, dateTime, num } = useI18n();
  const { deviceName } = useApp();
  const { data, error, loading } = useApi<{ deadLetters: DeadLetter[]; total: number }>('/api/dead-letters', { limit: 200 });
  return (
    <>
      <h1>{t('dq.title')}</h1>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {loading && !data && <p>{t('app.loading')}</p>}
      {data && <p className="summary">{t('dq.total', { n: num(data.total, 0) })}</p>}
      {data && data.deadLetters.length === 0 && <p className="muted">{t('dq.none')}</p>}
      {data && data.deadLetters.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('dq.title')}>
          <table data-testid="dead-letters">
            <caption className="sr-only">{t('dq.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('dq.time')}</th>
                <th scope="col">{t('dq.source')}</th>
                <th scope="col">{t('dq.reason')}</th>
                <th scope="col">{t('dq.raw')}</th>
              </tr>
            </thead>
            <tbody>
              {data.deadLetters.map((d, i) => (
                <tr key={`${d.ts}-${i}`}>
                  <td>
                    <time dateTime={new Date(d.ts).toISOString()}>{dateTime(d.ts)}</time>
                  </td>
                  <td>
                    {d.device ? deviceName(d.device) : '—'}
                    <br />
                    <span className="muted small">
                      {d.gateway ?? '—'} · {d.topic}
                    </span>
                  </td>
                  <td>
                    <DeadLetterReason reason={d.reason} />
                  </td>
                  <td>
                    <code>{d.raw.length > 240 ? `${d.raw.slice(0, 240)}…` : d.raw}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

const REJECT_CODES = [
  'malformed_json',
  'bad_topic',
  'schema',
  'unsupported_version',
  'gateway_mismatch',
  'unknown_gateway',
  'unknown_device',
  'foreign_device',
  'unknown_field',
  'wrong_unit',
  'out_of_range',
] as const;

/**
 * Ingest writes "code: technical detail". The code is said in the reader's language; the detail is what the
 * gateway sent or the validator found, kept verbatim (English, marked as such) for the technician.
 */
function DeadLetterReason({ reason }: { reason: string }) {
  const { t } = useI18n();
  const m = /^([a-z_]+): ?([\s\S]*)$/.exec(reason);
  const code = REJECT_CODES.find((c) => c === m?.[1]);
  if (!code) return <strong lang="en">{reason}</strong>;
  return (
    <>
      <strong data-reason={code}>{t(`wallx.reject.${code}`)}</strong>
      {m![2] && (
        <>
          <br />
          <span className="muted small" lang="en">
            {m![2]}
          </span>
        </>
      )}
    </>
  );
}
