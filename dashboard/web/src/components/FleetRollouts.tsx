import { useState } from 'react';
import { api } from '../api/client';
import type { FleetReleasesAnswer, RolloutsAnswer } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { atLeast } from '../lib/roles';
import { useLive } from '../live/useLive';
import { ConfirmDialog } from './ConfirmDialog';
import { useApp } from '../session';

/**
 * Staged software rollouts (technicians see them; admins start one: a ward first, the rest once it reports the
 * new version). Shown only where the dashboard runs the fleet feature (the API answers).
 */
export function FleetRollouts({ now }: { now: number }) {
  const { t, ago, dateTime, num } = useI18n();
  const { session, city, wardName } = useApp();
  const admin = atLeast(session.user.role, 'admin');
  const rollouts = useApi<RolloutsAnswer>('/api/fleet/rollouts');
  const releases = useApi<FleetReleasesAnswer>(admin ? '/api/fleet/releases' : null);
  const [version, setVersion] = useState('');
  const [ward, setWard] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  // The cancel or resume an admin is confirming, with the note that goes to the audit log.
  const [pending, setPending] = useState<{ id: number; version: string; action: 'cancel' | 'resume' } | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  useLive(['gateways'], (msg) => {
    if (msg.type === 'rollout') rollouts.reload();
  });
  if (!rollouts.data) return null;
  const start = async () => {
    try {
      await api.post('/api/fleet/rollouts', { version, firstWard: ward });
      setMessage(t('fleet.started', { version, ward: wardName(ward) }));
      rollouts.reload();
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  const act = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      await api.post(`/api/fleet/rollouts/${pending.id}/${pending.action}`, note.trim() ? { note: note.trim() } : {});
      setMessage(t(pending.action === 'cancel' ? 'fleet.cancelled' : 'fleet.resumed', { version: pending.version }));
      rollouts.reload();
    } catch (err) {
      setMessage((err as Error).message);
    } finally {
      setBusy(false);
      setPending(null);
      setNote('');
    }
  };
  return (
    <section aria-labelledby="fleet-rollouts" className="fleet-rollouts">
      <h2 id="fleet-rollouts">{t('fleet.title')}</h2>
      {admin && releases.data && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          <label>
            {t('fleet.release')}{' '}
            <select value={version} onChange={(e) => setVersion(e.target.value)} required>
              <option value="">—</option>
              {releases.data.releases.map((r) => (
                <option key={r.file} value={r.version}>
                  {r.version}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('fleet.firstWard')}{' '}
            <select value={ward} onChange={(e) => setWard(e.target.value)} required>
              <option value="">—</option>
              {city.wards
                .filter((w) => city.gateways.some((g) => g.ward === w.id))
                .map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name}
                  </option>
                ))}
            </select>
          </label>
          <button type="submit">{t('fleet.start')}</button>
        </form>
      )}
      {admin && message && (
        <p role="status" data-testid="fleet-message">
          {message}
        </p>
      )}
      {rollouts.data.rollouts.length === 0 ? (
        <p className="muted">{t('fleet.none')}</p>
      ) : (
        <ul>
          {rollouts.data.rollouts.map((r) => (
            <li key={r.id} className={r.stage === 'halted' ? 'warn' : ''} data-testid="rollout" data-stage={r.stage}>
              <strong>{r.version}</strong> · <span data-testid="rollout-stage">{t(`fleet.stage.${r.stage}`)}</span> ·{' '}
              {wardName(r.firstWard)} ·{' '}
              {t('fleet.progress', {
                done: num(r.gateways.filter((g) => g.version === r.version).length, 0),
                total: num(r.gateways.length, 0),
              })}{' '}
              · {r.createdBy}, <time dateTime={new Date(r.createdAt).toISOString()}>{dateTime(r.createdAt)}</time> (
              {t('fleet.updated', { ago: ago(r.updatedAt, now) })})
              {r.reason && (
                // The server's and the gateway's own words, verbatim.
                <>
                  {' '}
                  <span className="small error-text" data-testid="rollout-reason" lang="en">
                    {r.reason}
                  </span>
                </>
              )}
              {admin && r.canCancel && (
                <>
                  {' '}
                  <button type="button" className="btn" onClick={() => setPending({ id: r.id, version: r.version, action: 'cancel' })}>
                    {t('fleet.cancel')}
                  </button>
                </>
              )}
              {admin && r.canResume && (
                <>
                  {' '}
                  <button type="button" className="btn" onClick={() => setPending({ id: r.id, version: r.version, action: 'resume' })}>
                    {t('fleet.resume')}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={pending !== null}
        title={pending ? t(pending.action === 'cancel' ? 'fleet.cancelTitle' : 'fleet.resumeTitle', { version: pending.version }) : ''}
        busy={busy}
        onConfirm={() => void act()}
        onCancel={() => {
          setPending(null);
          setNote('');
        }}
      >
        <p>{pending && t(pending.action === 'cancel' ? 'fleet.cancelHelp' : 'fleet.resumeHelp')}</p>
        <label>
          {t('fleet.note')}
          <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={500} rows={2} />
        </label>
      </ConfirmDialog>
    </section>
  );
}
