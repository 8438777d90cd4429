import { useId, useMemo, useState } from 'react';
import { api, buildUrl } from '../api/client';
import type { Alarm, AlarmDetail, AlarmRows, AlarmState, Assignee, Severity } from '../api/types';
import { useApi } from '../api/useApi';
import { AlarmDetailPanel, AlarmRow } from '../components/AlarmRow';
import { ShelvesPanel } from '../components/ShelvesPanel';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/dict';
import { atLeast } from '../lib/roles';
import { useAlarmUpdates } from '../live/useAlarmUpdates';
import { useAlarmAnswer } from '../live/useAlarmAnswer';
import { useApp } from '../session';

type StateFilter = 'open' | AlarmState | 'all';
const SEVERITIES: Severity[] = ['critical', 'major', 'minor', 'warning'];
/** Rows the desk table draws at first and adds per "show more". */
const DESK_PAGE = 100;

interface Filters {
  state: StateFilter;
  severity: string;
  ward: string;
  kind: string;
  assignee: string;
  q: string;
}

/** The alarm desk: filters, a compact table, bulk acknowledge and assign, CSV export, deep links. */
export default function AlarmsView({ param }: { param?: string }) {
  const { t, lang, num } = useI18n();
  const { city, session } = useApp();
  const id = useId();
  const [filters, setFilters] = useState<Filters>({ state: 'open', severity: '', ward: '', kind: '', assignee: '', q: '' });
  const set = (k: keyof Filters) => (v: string) => setFilters((f) => ({ ...f, [k]: v }));
  const query = {
    state: filters.state === 'all' ? undefined : filters.state,
    severity: filters.severity || undefined,
    ward: filters.ward || undefined,
    kind: filters.kind || undefined,
    assignee: filters.assignee || undefined,
    q: filters.q.trim() || undefined,
  };
  // A deep link opens its alarm whatever the filters say, cleared ones included.
  const linked = useApi<AlarmDetail>(param ? `/api/alarms/${encodeURIComponent(param)}` : null);
  const operator = atLeast(session.user.role, 'operator');
  const assignees = useApi<{ users: Assignee[] }>(operator ? '/api/alarms/assignees' : null).data?.users ?? [];
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkAssignee, setBulkAssignee] = useState('');
  const [bulkBusy, setBulkBusy] = useState(false);
  const [bulkResult, setBulkResult] = useState<string | null>(null);

  // The rows drawn; back to one page when the filters change.
  const filterKey = JSON.stringify(query);
  const [more, setMore] = useState({ key: filterKey, rows: DESK_PAGE });
  const pageRows = more.key === filterKey ? more.rows : DESK_PAGE;
  // The server filters and groups every alarm and sends the lines drawn; live changes ask it again.
  const desk = useAlarmAnswer<AlarmRows>('/api/alarms/rows', { ...query, rows: pageRows, exclude: param });
  /** Live changes and the answers of actions, applied to the linked alarm in one pass per batch. */
  const linkedChanged = (batch: Alarm[]) =>
    linked.set((d) => {
      const a = d && batch.findLast((x) => x.id === d.alarm.id);
      return d && a ? { ...d, alarm: a } : d;
    });
  useAlarmUpdates(linkedChanged);
  /** An action's answer: the linked alarm shows it before its live echo arrives; the table asks the server again. */
  const upsertAll = (batch: Alarm[]) => {
    desk.refresh();
    linkedChanged(batch);
  };
  const upsert = (a: Alarm) => upsertAll([a]);
  // A storm has thousands of alarms: the table draws the worst lines first, a page at a time.
  const shownRows = desk.data?.rows ?? [];
  const totalRows = desk.data?.total ?? 0;
  const kinds = useMemo(() => [...new Set(city.devices.map((d) => d.kind))].sort(), [city]);
  const selectedIds = [...selected];

  const bulk = async (action: 'ack' | 'assign') => {
    setBulkBusy(true);
    setBulkResult(null);
    try {
      const res = await api.post<{ alarms: Alarm[]; failed: Array<{ id: string; error: string }> }>('/api/alarms/bulk', {
        ids: selectedIds,
        action,
        ...(action === 'assign' ? { assignee: bulkAssignee } : {}),
      });
      upsertAll(res.alarms);
      setBulkResult(t('desk.bulkDone', { done: res.alarms.length, failed: res.failed.length }));
      setSelected(new Set());
    } catch (err) {
      setBulkResult(t('app.error', { message: (err as Error).message }));
    } finally {
      setBulkBusy(false);
    }
  };
  const toggle = (key: string) => setExpanded((s) => (s.has(key) ? new Set([...s].filter((k) => k !== key)) : new Set([...s, key])));
  const allIds = shownRows.flatMap((r) => r.ids);

  return (
    <>
      <h1>{t('alarms.title')}</h1>
      {param && (
        <section className="panel desk-linked" aria-label={t('desk.linked')} data-testid="linked-alarm">
          {linked.error ? (
            <p className="error" role="alert">
              {t('app.error', { message: linked.error })}
            </p>
          ) : !linked.data ? (
            <p>{t('app.loading')}</p>
          ) : (
            <AlarmDetailPanel
              alarm={linked.data.alarm}
              row={{
                key: linked.data.alarm.id,
                lead: linked.data.alarm,
                members: [],
                memberCount: 0,
                children: linked.data.children,
                childCount: linked.data.children.length,
                ids: [linked.data.alarm.id],
              }}
              assignees={assignees}
              onChanged={upsert}
            />
          )}
        </section>
      )}
      <form className="filters" aria-label={t('alarms.filters')} onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${id}-q`}>{t('desk.search')}</label>
        <input id={`${id}-q`} type="search" value={filters.q} onChange={(e) => set('q')(e.target.value)} data-testid="filter-q" />
        <label htmlFor={`${id}-state`}>{t('alarms.state')}</label>
        <select id={`${id}-state`} value={filters.state} onChange={(e) => set('state')(e.target.value)} data-testid="filter-state">
          <option value="open">{t('alarms.openStates')}</option>
          <option value="active">{t('state.active')}</option>
          <option value="acknowledged">{t('state.acknowledged')}</option>
          <option value="cleared">{t('alarms.history')}</option>
          <option value="all">{t('alarms.all')}</option>
        </select>
        <label htmlFor={`${id}-sev`}>{t('alarms.severity')}</label>
        <select id={`${id}-sev`} value={filters.severity} onChange={(e) => set('severity')(e.target.value)}>
          <option value="">{t('alarms.all')}</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {t(`severity.${s}`)}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-ward`}>{t('alarms.ward')}</label>
        <select id={`${id}-ward`} value={filters.ward} onChange={(e) => set('ward')(e.target.value)}>
          <option value="">{t('alarms.all')}</option>
          {city.wards.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-kind`}>{t('desk.kind')}</label>
        <select id={`${id}-kind`} value={filters.kind} onChange={(e) => set('kind')(e.target.value)}>
          <option value="">{t('alarms.all')}</option>
          {kinds.map((k) => (
            <option key={k} value={k}>
              {t(`kind.${k}` as MessageKey)}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-assignee`}>{t('alarms.assignee')}</label>
        <select
          id={`${id}-assignee`}
          value={filters.assignee}
          onChange={(e) => set('assignee')(e.target.value)}
          data-testid="filter-assignee"
        >
          <option value="">{t('alarms.all')}</option>
          <option value="none">{t('alarms.unassigned')}</option>
          {assignees.map((u) => (
            <option key={u.username} value={u.username}>
              {u.displayName}
            </option>
          ))}
        </select>
        <a className="btn btn-small" href={buildUrl('/api/alarms.csv', { ...query, lang })} download data-testid="alarms-csv">
          <span aria-hidden="true">⤓ </span>
          {t('desk.csv')}
        </a>
      </form>
      {operator && (
        <div className="bulk-bar" role="group" aria-label={t('desk.bulk')}>
          <span data-testid="selected-count">{t('desk.selected', { n: selectedIds.length })}</span>
          <button
            type="button"
            className="btn btn-primary"
            disabled={bulkBusy || selectedIds.length === 0}
            onClick={() => void bulk('ack')}
            data-testid="bulk-ack"
          >
            {t('desk.bulkAck')}
          </button>
          <label htmlFor={`${id}-bulk-assignee`}>{t('desk.assignTo')}</label>
          <select
            id={`${id}-bulk-assignee`}
            value={bulkAssignee}
            onChange={(e) => setBulkAssignee(e.target.value)}
            data-testid="bulk-assignee"
          >
            <option value="">{t('desk.choosePerson')}</option>
            {assignees.map((u) => (
              <option key={u.username} value={u.username}>
                {u.displayName}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn"
            disabled={bulkBusy || selectedIds.length === 0 || !bulkAssignee}
            onClick={() => void bulk('assign')}
            data-testid="bulk-assign"
          >
            {t('desk.bulkAssign')}
          </button>
          {bulkResult && (
            <span role="status" data-testid="bulk-result">
              {bulkResult}
            </span>
          )}
        </div>
      )}
      {desk.error && (
        <p className="error" role="alert">
          {t('app.error', { message: desk.error })}
        </p>
      )}
      {!desk.data ? (
        !desk.error && <p>{t('app.loading')}</p>
      ) : totalRows === 0 ? (
        <p className="muted">{t('alarms.none')}</p>
      ) : (
        <div className="table-wrap">
          <table className="desk-table" data-testid="alarm-desk">
            <caption className="sr-only">{t('desk.caption', { n: totalRows })}</caption>
            <thead>
              <tr>
                <th scope="col">
                  {operator && (
                    <input
                      type="checkbox"
                      aria-label={t('desk.selectAll')}
                      checked={allIds.length > 0 && allIds.every((x) => selected.has(x))}
                      onChange={(e) => setSelected(e.target.checked ? new Set(allIds) : new Set())}
                      data-testid="select-all"
                    />
                  )}
                </th>
                <th scope="col">{t('alarms.severity')}</th>
                <th scope="col">{t('alarms.state')}</th>
                <th scope="col">{t('desk.what')}</th>
                <th scope="col">{t('alarms.ward')}</th>
                <th scope="col">{t('desk.since')}</th>
                <th scope="col">{t('alarms.assignee')}</th>
                <th scope="col">
                  <span className="sr-only">{t('alarms.details')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shownRows.map((row) => (
                <AlarmRow
                  key={row.key}
                  row={row}
                  selected={row.ids.every((x) => selected.has(x))}
                  onSelect={(on) =>
                    setSelected((s) => (on ? new Set([...s, ...row.ids]) : new Set([...s].filter((x) => !row.ids.includes(x)))))
                  }
                  expanded={expanded.has(row.key)}
                  onToggle={() => toggle(row.key)}
                  assignees={assignees}
                  onChanged={upsert}
                />
              ))}
            </tbody>
          </table>
          {totalRows > shownRows.length && (
            <p className="desk-more" data-testid="desk-more">
              {t('desk.showing', { shown: num(shownRows.length, 0), total: num(totalRows, 0) })}{' '}
              <button
                type="button"
                className="btn btn-small"
                onClick={() => setMore({ key: filterKey, rows: pageRows + DESK_PAGE })}
                data-testid="desk-show-more"
              >
                {t('desk.showMore', { n: num(Math.min(DESK_PAGE, totalRows - shownRows.length), 0) })}
              </button>
            </p>
          )}
        </div>
      )}
      {operator && <ShelvesPanel />}
    </>
  );
}
