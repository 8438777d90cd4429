import { useId, useState } from 'react';
import type { Alarm, AlarmState, Severity } from '../api/types';
import { useApi } from '../api/useApi';
import { AlarmItem } from '../components/AlarmItem';
import { useI18n } from '../i18n/i18n';
import { SEVERITY_RANK } from '../lib/severity';
import { useLive } from '../live/useLive';
import { useApp } from '../session';

type StateFilter = 'open' | AlarmState | 'all';
const SEVERITIES: Severity[] = ['critical', 'major', 'minor', 'warning'];

function matches(a: Alarm, state: StateFilter, severity: string, ward: string): boolean {
  if (state === 'open' ? a.state === 'cleared' : state !== 'all' && a.state !== state) return false;
  if (severity && a.severity !== severity) return false;
  if (ward && a.ward !== ward) return false;
  return true;
}

/** Open alarms first by severity, then newest; history (cleared) newest first. */
function sortAlarms(list: Alarm[]): Alarm[] {
  return [...list].sort((a, b) => Number(a.state === 'cleared') - Number(b.state === 'cleared') || SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || b.lastSeen - a.lastSeen);
}

export default function AlarmsView({ param }: { param?: string }) {
  const { t } = useI18n();
  const { city } = useApp();
  const id = useId();
  const [state, setState] = useState<StateFilter>('open');
  const [severity, setSeverity] = useState('');
  const [ward, setWard] = useState('');
  const serverState = state === 'open' || state === 'all' ? undefined : state;
  const { data, error, loading, set } = useApi<{ alarms: Alarm[] }>('/api/alarms', { state: serverState, severity, ward, limit: 500 });
  const upsert = (a: Alarm) => set((d) => (d ? { alarms: [a, ...d.alarms.filter((x) => x.id !== a.id)] } : d));
  useLive(['alarms'], (msg) => {
    if (msg.type === 'alarm') upsert(msg.alarm);
  });
  const shown = sortAlarms((data?.alarms ?? []).filter((a) => matches(a, state, severity, ward) && (!param || a.id === param)));
  return (
    <>
      <h1>{t('alarms.title')}</h1>
      <form className="filters" aria-label={t('alarms.filters')} onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${id}-state`}>{t('alarms.state')}</label>
        <select id={`${id}-state`} value={state} onChange={(e) => setState(e.target.value as StateFilter)} data-testid="filter-state">
          <option value="open">{t('alarms.openStates')}</option>
          <option value="active">{t('state.active')}</option>
          <option value="acknowledged">{t('state.acknowledged')}</option>
          <option value="cleared">{t('alarms.history')}</option>
          <option value="all">{t('alarms.all')}</option>
        </select>
        <label htmlFor={`${id}-sev`}>{t('alarms.severity')}</label>
        <select id={`${id}-sev`} value={severity} onChange={(e) => setSeverity(e.target.value)}>
          <option value="">{t('alarms.all')}</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {t(`severity.${s}`)}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-ward`}>{t('alarms.ward')}</label>
        <select id={`${id}-ward`} value={ward} onChange={(e) => setWard(e.target.value)}>
          <option value="">{t('alarms.all')}</option>
          {city.wards.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
      </form>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
      {loading && !data ? (
        <p>{t('app.loading')}</p>
      ) : shown.length === 0 ? (
        <p className="muted">{t('alarms.none')}</p>
      ) : (
        <ul className="alarm-list" aria-live="polite">
          {shown.map((a) => (
            <AlarmItem key={a.id} alarm={a} onChanged={upsert} />
          ))}
        </ul>
      )}
    </>
  );
}
