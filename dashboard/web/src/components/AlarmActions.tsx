import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { Alarm, Assignee } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { ConfirmDialog } from './ConfirmDialog';

/** Acknowledge / assign / comment / resolve, for operators and above. Resolving asks first. */
export function AlarmActions({ alarm, assignees, onChanged }: { alarm: Alarm; assignees: Assignee[]; onChanged(a: Alarm): void }) {
  const { t, lang } = useI18n();
  const [text, setText] = useState('');
  const [assignee, setAssignee] = useState(alarm.assignee ?? '');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: string, body: unknown) => {
    setBusy(true);
    setError(null);
    try {
      const { alarm: next } = await api.post<{ alarm: Alarm }>(`/api/alarms/${encodeURIComponent(alarm.id)}/${action}`, body);
      onChanged(next);
      setText('');
      return true;
    } catch (err) {
      setError((err as Error).message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const comment = text.trim() || undefined;
  const submitComment = (e: FormEvent) => {
    e.preventDefault();
    if (comment) void run('comment', { text: comment });
  };
  const idBase = `alarm-${alarm.id}`;
  return (
    <div className="alarm-actions">
      <form onSubmit={submitComment} className="inline-form">
        <label htmlFor={`${idBase}-text`}>{t('alarms.commentText')}</label>
        <input id={`${idBase}-text`} value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="btn" disabled={busy || !comment}>
          {t('alarms.comment')}
        </button>
      </form>
      {alarm.state !== 'cleared' && (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (assignee) void run('assign', { assignee });
          }}
        >
          <label htmlFor={`${idBase}-assignee`}>{t('desk.assignTo')}</label>
          <select id={`${idBase}-assignee`} value={assignee} onChange={(e) => setAssignee(e.target.value)} data-testid="assignee-select">
            <option value="">{t('desk.choosePerson')}</option>
            {assignees.map((u) => (
              <option key={u.username} value={u.username}>
                {u.displayName} ({t(`role.${u.role}`)})
              </option>
            ))}
          </select>
          <button type="submit" className="btn" disabled={busy || !assignee || assignee === alarm.assignee} data-testid="assign">
            {t('alarms.assign')}
          </button>
        </form>
      )}
      <div className="button-row">
        {alarm.state === 'active' && (
          <button
            type="button"
            className="btn btn-primary"
            disabled={busy}
            onClick={() => void run('ack', comment ? { comment } : {})}
            data-testid="ack"
          >
            <span aria-hidden="true">✓ </span>
            {t('alarms.ack')}
          </button>
        )}
        {alarm.state !== 'cleared' && (
          <button type="button" className="btn" disabled={busy} onClick={() => setConfirming(true)} data-testid="clear">
            {t('alarms.clear')}
          </button>
        )}
      </div>
      <ConfirmDialog
        open={confirming}
        title={t('desk.resolveTitle')}
        busy={busy}
        onCancel={() => setConfirming(false)}
        onConfirm={() => void run('clear', comment ? { comment } : {}).then((ok) => ok && setConfirming(false))}
      >
        <p>{t('desk.resolveExplain')}</p>
        <p className="alarm-message">{alarm.message[lang]}</p>
      </ConfirmDialog>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
    </div>
  );
}
