import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { MIN_PASSWORD_LENGTH } from '../components/AdminApi';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';

type Field = 'current' | 'next' | 'repeat';

/** Change my own password: the current one proves it is me; my other sessions end, this one stays. */
export default function AccountView() {
  const { t } = useI18n();
  const { session } = useApp();
  const [form, setForm] = useState({ current: '', next: '', repeat: '' });
  const [problems, setProblems] = useState<Partial<Record<Field, string>>>({});
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const kiosk = session.kiosk === true || session.user.username.startsWith('kiosk:');

  const check = (): Partial<Record<Field, string>> => {
    const p: Partial<Record<Field, string>> = {};
    if (!form.current) p.current = t('account.needCurrent');
    if (form.next.length < MIN_PASSWORD_LENGTH) p.next = t('admin.passwordShort', { n: MIN_PASSWORD_LENGTH });
    else if (form.next.toLowerCase().includes(session.user.username.toLowerCase())) p.next = t('account.containsUser');
    else if (form.next === form.current) p.next = t('account.sameAsOld');
    if (form.repeat !== form.next) p.repeat = t('account.mismatch');
    return p;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setOutcome(null);
    const p = check();
    setProblems(p);
    if (Object.keys(p).length) return;
    setBusy(true);
    try {
      const res = await api.post<{ sessionsEnded: number }>('/api/auth/password', {
        currentPassword: form.current,
        newPassword: form.next,
      });
      setForm({ current: '', next: '', repeat: '' });
      setOutcome({ ok: true, text: t('account.changed', { n: res.sessionsEnded }) });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'wrong_password') setProblems({ current: t('account.wrongCurrent') });
      else if (err instanceof ApiError && err.code === 'weak_password') setProblems({ next: t('admin.err.weak_password') });
      else if (err instanceof ApiError && err.status === 429)
        setOutcome({ ok: false, text: t('account.tooMany', { message: err.message }) });
      else setOutcome({ ok: false, text: t('app.error', { message: (err as Error).message }) });
    } finally {
      setBusy(false);
    }
  };

  const field = (name: Field, label: string, autoComplete: string) => (
    <div className="form-field">
      <label htmlFor={`pw-${name}`}>{label}</label>
      <input
        id={`pw-${name}`}
        type="password"
        autoComplete={autoComplete}
        value={form[name]}
        onChange={(e) => setForm({ ...form, [name]: e.target.value })}
        aria-invalid={problems[name] ? true : undefined}
        aria-describedby={problems[name] ? `pw-${name}-error` : undefined}
      />
      {problems[name] && (
        <p id={`pw-${name}-error`} className="field-error" data-testid={`pw-${name}-error`}>
          {problems[name]}
        </p>
      )}
    </div>
  );

  return (
    <>
      <h1>{t('account.title')}</h1>
      {kiosk ? (
        <p role="alert">{t('account.kiosk')}</p>
      ) : (
        <section className="panel" aria-labelledby="pw-title">
          <h2 id="pw-title">{t('account.changePassword')}</h2>
          <p className="muted">{t('account.note', { n: MIN_PASSWORD_LENGTH })}</p>
          <form onSubmit={(e) => void submit(e)} noValidate data-testid="password-form" className="form-grid">
            {/* Lets password managers tie the new password to this account. */}
            <input type="text" name="username" autoComplete="username" value={session.user.username} readOnly hidden />
            {field('current', t('account.current'), 'current-password')}
            {field('next', t('account.new', { n: MIN_PASSWORD_LENGTH }), 'new-password')}
            {field('repeat', t('account.repeat'), 'new-password')}
            <div className="button-row">
              <button type="submit" className="btn btn-primary" disabled={busy}>
                {t('account.submit')}
              </button>
            </div>
          </form>
          <div aria-live="polite" data-testid="account-outcome">
            {outcome && (
              <p className={outcome.ok ? undefined : 'error'} role={outcome.ok ? 'status' : 'alert'}>
                {outcome.text}
              </p>
            )}
          </div>
        </section>
      )}
    </>
  );
}
