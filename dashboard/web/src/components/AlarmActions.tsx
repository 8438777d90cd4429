import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { Alarm } from '../api/types';
import { useI18n } from '../i18n/i18n';

/** Acknowledge / assign / comment / clear, for operators and above. */
export function AlarmActions({ alarm, onChanged }: { alarm: Alarm; onChanged(a: Alarm): void }) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const [assignee, setAssignee] = useState(alarm.assignee ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: string, body: unknown) => {
    setBusy(true);
    setError(null);
    try {
      const { alarm: next } = await api.post<{ alarm: Alarm }>(`/api/alarms/${encodeURIComponent(alarm.id)}/${action}`, body);
      onChanged(next);
      setText('');
    } catch (err) {
      setError((err as Error).message);
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
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (assignee.trim()) void run('assign', { assignee: assignee.trim() });
        }}
      >
        <label htmlFor={`${idBase}-assignee`}>{t('alarms.assigneeName')}</label>
        <input id={`${idBase}-assignee`} value={assignee} onChange={(e) => setAssignee(e.target.value)} />
        <button type="submit" className="btn" disabled={busy || !assignee.trim()}>
          {t('alarms.assign')}
        </button>
      </form>
      <div className="button-row">
        {alarm.state === 'active' && (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run('ack', comment ? { comment } : {})} data-testid="ack">
            <span aria-hidden="true">✓ </span>
            {t('alarms.ack')}
          </button>
        )}
        {alarm.state !== 'cleared' && (
          <button type="button" className="btn" disabled={busy} onClick={() => void run('clear', comment ? { comment } : {})} data-testid="clear">
            {t('alarms.clear')}
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {t('app.error', { message: error })}
        </p>
      )}
    </div>
  );
}
