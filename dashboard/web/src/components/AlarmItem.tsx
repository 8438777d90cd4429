import { useState } from 'react';
import type { Alarm } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { atLeast } from '../lib/roles';
import { SEVERITY_ICON } from '../lib/severity';
import { useApp } from '../session';
import { AlarmActions } from './AlarmActions';
import { AlarmTrail } from './AlarmTrail';

export function AlarmItem({ alarm, onChanged }: { alarm: Alarm; onChanged(a: Alarm): void }) {
  const { t, lang, num, dateTime, ago } = useI18n();
  const { session, wardName, deviceName } = useApp();
  const [open, setOpen] = useState(false);
  const [version, setVersion] = useState(0);
  const changed = (a: Alarm) => {
    onChanged(a);
    setVersion((v) => v + 1);
  };
  return (
    <li className={`alarm alarm-${alarm.state} sev-border-${alarm.severity}`} data-alarm={alarm.id} data-state={alarm.state}>
      <div className="alarm-main">
        <span className={`sev sev-${alarm.severity}`}>
          <span aria-hidden="true">{SEVERITY_ICON[alarm.severity]} </span>
          {t(`severity.${alarm.severity}`)}
        </span>
        <span className="alarm-state" data-testid="alarm-state">
          {t(`state.${alarm.state}`)}
        </span>
        <p className="alarm-message">{alarm.message[lang]}</p>
        <p className="alarm-meta">
          {wardName(alarm.ward)} · {deviceName(alarm.device)}
          {alarm.value !== null && alarm.limit !== null && <> · {t('alarms.value', { value: `${num(alarm.value, 1)} ${alarm.unit ?? ''}`.trim(), limit: num(alarm.limit, 1) })}</>}
        </p>
        <p className="alarm-meta">
          {t('alarms.firstSeen')}: <time dateTime={new Date(alarm.firstSeen).toISOString()}>{dateTime(alarm.firstSeen)}</time> · {t('alarms.lastSeen')}: {ago(alarm.lastSeen)} · {t('alarms.count')}: {alarm.count} · {t('alarms.assignee')}: {alarm.assignee ?? t('alarms.unassigned')}
        </p>
        {alarm.acknowledgedBy && alarm.acknowledgedAt && <p className="alarm-meta">{t('alarms.ackBy', { user: alarm.acknowledgedBy, time: dateTime(alarm.acknowledgedAt) })}</p>}
        <button type="button" className="btn btn-small" aria-expanded={open} aria-controls={`alarm-detail-${alarm.id}`} onClick={() => setOpen(!open)}>
          {t('alarms.details')}
        </button>
      </div>
      {open && (
        <div id={`alarm-detail-${alarm.id}`} className="alarm-detail">
          {atLeast(session.user.role, 'operator') && <AlarmActions alarm={alarm} onChanged={changed} />}
          <AlarmTrail id={alarm.id} version={version} />
        </div>
      )}
    </li>
  );
}
