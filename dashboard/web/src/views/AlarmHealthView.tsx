import { useId, useState } from 'react';
import type { AlarmHealth } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { Link } from '../components/Link';

const DAY = 86_400_000;
const PERIODS = [1, 7, 30] as const;

/** Alarm-system health (ISA-18.2 / EEMUA 191) over a chosen period, so a city can tune its rules. */
export default function AlarmHealthView() {
  const { t, num, dateTime } = useI18n();
  const id = useId();
  const [days, setDays] = useState<number>(7);
  const [to] = useState(() => Date.now());
  const { data: h, error, loading } = useApi<AlarmHealth>('/api/alarms/health', { from: to - days * DAY, to });
  const pct = (x: number) => `${num(x * 100, 1)} %`;
  return (
    <>
      <h1>{t('health.title')}</h1>
      <p className="muted">{t('health.explain')}</p>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${id}-days`}>{t('health.period')}</label>
        <select id={`${id}-days`} value={days} onChange={(e) => setDays(Number(e.target.value))} data-testid="health-period">
          {PERIODS.map((d) => (
            <option key={d} value={d}>
              {t('health.days', { n: d })}
            </option>
          ))}
        </select>
      </form>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {loading && !h && <p>{t('app.loading')}</p>}
      {h && (
        <div data-testid="alarm-health">
          <dl className="figures">
            <dt>{t('health.total')}</dt>
            <dd data-testid="health-total">{num(h.total, 0)}</dd>
            <dt>{t('health.per10Min', { n: h.settings.positions })}</dt>
            <dd>{num(h.perPosition.per10Min, 2)}</dd>
            <dt>{t('health.perDay', { n: h.settings.positions })}</dt>
            <dd>{num(h.perPosition.perDay, 1)}</dd>
            <dt>{t('health.flood', { n: h.settings.floodPer10Min })}</dt>
            <dd>
              {pct(h.floodShare)} ({num(h.floodPeriods, 0)} / {num(h.periods, 0)})
            </dd>
            <dt>{t('health.peak')}</dt>
            <dd>{t('health.peakAt', { n: num(h.peak.count, 0), time: dateTime(h.peak.start) })}</dd>
            <dt>{t('health.fleeting', { s: h.settings.fleetingS })}</dt>
            <dd>{num(h.fleeting, 0)}</dd>
            <dt>{t('health.suppressed')}</dt>
            <dd>
              {t('health.suppressedDetail', {
                gateway: num(h.suppressed.gateway, 0),
                group: num(h.suppressed.group, 0),
                shelved: num(h.suppressed.shelved, 0),
              })}
            </dd>
          </dl>
          <h2>{t('health.mix')}</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('health.priority')}</th>
                <th scope="col">{t('health.count')}</th>
                <th scope="col">{t('health.share')}</th>
                <th scope="col">{t('health.guide')}</th>
              </tr>
            </thead>
            <tbody>
              {h.priorityMix.map((p) => (
                <tr key={p.priority}>
                  <td>{t(`health.p.${p.priority}`)}</td>
                  <td>{num(p.count, 0)}</td>
                  <td>{pct(p.share)}</td>
                  <td>{pct(p.guide)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>{t('health.badRules')}</h2>
          <Ranked items={h.badActors.rules} />
          <h2>{t('health.badSources')}</h2>
          <Ranked items={h.badActors.sources} />
          <h2>{t('health.chattering', { n: h.settings.chatterCount, s: h.settings.chatterWindowS })}</h2>
          {h.chattering.length === 0 ? (
            <p className="muted">{t('health.noneFound')}</p>
          ) : (
            <ul>
              {h.chattering.map((c) => (
                <li key={`${c.ruleId}|${c.sourceId}`}>
                  {c.ruleId} · {c.sourceId} · {num(c.count, 0)}
                </li>
              ))}
            </ul>
          )}
          <h2>{t('health.stale', { n: h.settings.staleHours })}</h2>
          {h.stale.length === 0 ? (
            <p className="muted">{t('health.noneFound')}</p>
          ) : (
            <ul>
              {h.stale.map((s) => (
                <li key={s.id}>
                  <Link href={`/alarms/${encodeURIComponent(s.id)}`}>#{s.id}</Link> · {s.ruleId} · {s.sourceId} · {dateTime(s.openedAt)}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  );
}

function Ranked({ items }: { items: Array<{ id: string; count: number; share: number }> }) {
  const { t, num } = useI18n();
  if (items.length === 0) return <p className="muted">{t('health.noneFound')}</p>;
  return (
    <ol>
      {items.map((i) => (
        <li key={i.id}>
          {i.id} · {num(i.count, 0)} ({num(i.share * 100, 1)} %)
        </li>
      ))}
    </ol>
  );
}
