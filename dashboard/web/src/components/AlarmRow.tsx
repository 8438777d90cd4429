import { useState } from 'react';
import type { Alarm, Assignee } from '../api/types';
import { useI18n } from '../i18n/i18n';
import type { DeskRow } from '../lib/alarm-rows';
import { atLeast } from '../lib/roles';
import { SEVERITY_ICON } from '../lib/severity';
import { useApp } from '../session';
import { AlarmActions } from './AlarmActions';
import { AlarmTrail } from './AlarmTrail';

const COLUMNS = 8;

/** One line of the desk (an alarm, its burst and its children) and, when open, its detail underneath. */
export function AlarmRow({
  row,
  selected,
  onSelect,
  expanded,
  onToggle,
  assignees,
  onChanged,
}: {
  row: DeskRow;
  selected: boolean;
  onSelect(on: boolean): void;
  expanded: boolean;
  onToggle(): void;
  assignees: Assignee[];
  onChanged(a: Alarm): void;
}) {
  const { t, lang, ago } = useI18n();
  const { session, wardName } = useApp();
  const a = row.lead;
  const names = new Map(assignees.map((u) => [u.username, u.displayName]));
  const operator = atLeast(session.user.role, 'operator');
  return (
    <>
      <tr
        className={`desk-row alarm-${a.state} sev-border-${a.severity}`}
        data-alarm={a.id}
        data-state={a.state}
        data-ids={row.ids.join(',')}
      >
        <td>
          {operator && (
            <input
              type="checkbox"
              checked={selected}
              onChange={(e) => onSelect(e.target.checked)}
              aria-label={t('desk.select', { id: a.id })}
              data-testid="select-row"
            />
          )}
        </td>
        <td>
          <span className={`sev sev-${a.severity}`}>
            <span aria-hidden="true">{SEVERITY_ICON[a.severity]} </span>
            {t(`severity.${a.severity}`)}
          </span>
        </td>
        <td data-testid="alarm-state">{t(`state.${a.state}`)}</td>
        <td className="desk-message">
          {a.message[lang]}
          {row.memberCount > 0 && (
            <span className="badge" data-testid="group-count">
              {t('desk.groupCount', { n: row.memberCount + 1 })}
            </span>
          )}
          {row.childCount > 0 && (
            <span className="badge" data-testid="children-count">
              {t('desk.childCount', { n: row.childCount })}
            </span>
          )}
          {a.reopenCount > 0 && <span className="badge">{t('desk.flaps', { n: a.reopenCount })}</span>}
          {a.shelfId && <span className="badge">{t('desk.shelvedBadge')}</span>}
        </td>
        <td>{wardName(a.ward)}</td>
        <td>
          <time dateTime={new Date(a.firstSeen).toISOString()}>{ago(a.firstSeen)}</time>
        </td>
        <td data-testid="assignee">
          {a.assignee ? (names.get(a.assignee) ?? a.assignee) : <span className="muted">{t('alarms.unassigned')}</span>}
        </td>
        <td>
          <button
            type="button"
            className="btn btn-small"
            aria-expanded={expanded}
            aria-controls={`alarm-detail-${a.id}`}
            onClick={onToggle}
            data-testid="details"
          >
            {t('alarms.details')}
          </button>
        </td>
      </tr>
      {expanded && (
        <tr className="desk-detail">
          <td colSpan={COLUMNS} id={`alarm-detail-${a.id}`} data-testid="alarm-detail" data-alarm-detail={a.id}>
            <AlarmDetailPanel alarm={a} row={row} assignees={assignees} onChanged={onChanged} />
          </td>
        </tr>
      )}
    </>
  );
}

export function AlarmDetailPanel({
  alarm,
  row,
  assignees,
  onChanged,
}: {
  alarm: Alarm;
  row?: DeskRow;
  assignees: Assignee[];
  onChanged(a: Alarm): void;
}) {
  const { t, lang, num, dateTime } = useI18n();
  const { session, wardName, deviceName } = useApp();
  const [version, setVersion] = useState(0);
  const changed = (a: Alarm) => {
    onChanged(a);
    setVersion((v) => v + 1);
  };
  const related = [...(row?.members ?? []), ...(row?.children ?? [])];
  // A storm's line carries the first of its related alarms; the rest are counted.
  const unlisted = (row?.memberCount ?? 0) + (row?.childCount ?? 0) - related.length;
  return (
    <div className="alarm-detail">
      <p className="alarm-message">{alarm.message[lang]}</p>
      <p className="alarm-meta">
        #{alarm.id} · {wardName(alarm.ward)} · {deviceName(alarm.device)} · {t(`state.${alarm.state}`)}
        {alarm.value !== null && alarm.limit !== null && (
          <> · {t('alarms.value', { value: `${num(alarm.value, 1)} ${alarm.unit ?? ''}`.trim(), limit: num(alarm.limit, 1) })}</>
        )}
      </p>
      <p className="alarm-meta">
        {t('alarms.firstSeen')}: {dateTime(alarm.firstSeen)} · {t('alarms.lastSeen')}: {dateTime(alarm.lastSeen)} · {t('alarms.count')}:{' '}
        {num(alarm.count, 0)} · {t('desk.flapsLabel')}: {num(alarm.reopenCount, 0)}
        {alarm.clearedAt && <> · {t('desk.clearedAt', { time: dateTime(alarm.clearedAt), user: alarm.clearedBy ?? '—' })}</>}
      </p>
      {alarm.acknowledgedBy && alarm.acknowledgedAt && (
        <p className="alarm-meta">{t('alarms.ackBy', { user: alarm.acknowledgedBy, time: dateTime(alarm.acknowledgedAt) })}</p>
      )}
      {atLeast(session.user.role, 'operator') && (
        <AlarmActions key={`${alarm.id}-${alarm.state}`} alarm={alarm} assignees={assignees} onChanged={changed} />
      )}
      {related.length > 0 && (
        <>
          <h4>{t('desk.related')}</h4>
          <ul className="trail" data-testid="related">
            {related.map((r) => (
              <li key={r.id}>
                #{r.id} · {t(`severity.${r.severity}`)} · {t(`state.${r.state}`)} · {r.message[lang]}
              </li>
            ))}
            {unlisted > 0 && <li className="muted">{t('wallx.more', { n: num(unlisted, 0) })}</li>}
          </ul>
        </>
      )}
      <AlarmTrail id={alarm.id} version={version} />
    </div>
  );
}
