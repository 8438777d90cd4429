import { useId, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { Shelf, ShelfTarget } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';

/** Maintenance mode: a device, gateway or ward whose alarms are recorded but notify nobody until it expires. */
export function ShelvesPanel() {
  const { t, dateTime } = useI18n();
  const { city, wardName, deviceName } = useApp();
  const id = useId();
  const shelves = useApi<{ shelves: Shelf[] }>('/api/alarms/shelves');
  const [targetType, setTargetType] = useState<ShelfTarget>('device');
  const [targetId, setTargetId] = useState('');
  const [minutes, setMinutes] = useState(60);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const options =
    targetType === 'device'
      ? city.devices.map((d) => [d.id, d.name])
      : targetType === 'gateway'
        ? city.gateways.map((g) => [g.id, g.name])
        : city.wards.map((w) => [w.id, w.name]);
  const label = (s: Shelf) =>
    s.targetType === 'ward'
      ? wardName(s.targetId)
      : s.targetType === 'device'
        ? deviceName(s.targetId)
        : (city.gateways.find((g) => g.id === s.targetId)?.name ?? s.targetId);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api.post('/api/alarms/shelves', { targetType, targetId, minutes, reason: reason.trim() });
      setReason('');
      shelves.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const end = async (shelf: Shelf) => {
    try {
      await api.del(`/api/alarms/shelves/${shelf.id}`);
      shelves.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{t('shelf.title')}</h2>
      <p className="muted">{t('shelf.explain')}</p>
      {(shelves.data?.shelves ?? []).length > 0 && (
        <ul className="trail" data-testid="shelves">
          {shelves.data!.shelves.map((s) => (
            <li key={s.id}>
              {t(`shelf.type.${s.targetType}`)}: <strong>{label(s)}</strong> · {t('shelf.until', { time: dateTime(s.until) })} · {s.user} ·{' '}
              {s.reason}{' '}
              <button type="button" className="btn btn-small" onClick={() => void end(s)}>
                {t('shelf.end')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${id}-type`}>{t('shelf.target')}</label>
        <select
          id={`${id}-type`}
          value={targetType}
          onChange={(e) => {
            setTargetType(e.target.value as ShelfTarget);
            setTargetId('');
          }}
        >
          {(['device', 'gateway', 'ward'] as const).map((k) => (
            <option key={k} value={k}>
              {t(`shelf.type.${k}`)}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-id`}>{t('shelf.which')}</label>
        <select id={`${id}-id`} value={targetId} onChange={(e) => setTargetId(e.target.value)} required>
          <option value="">—</option>
          {options.map(([value, name]) => (
            <option key={value} value={value}>
              {name}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-min`}>{t('shelf.minutes')}</label>
        <input
          id={`${id}-min`}
          type="number"
          min={1}
          max={10080}
          value={minutes}
          onChange={(e) => setMinutes(Number(e.target.value))}
          required
        />
        <label htmlFor={`${id}-reason`}>{t('shelf.reason')}</label>
        <input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} required />
        <button type="submit" className="btn" disabled={!targetId || !reason.trim()}>
          {t('shelf.add')}
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
    </section>
  );
}
