import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import type { Session } from '../api/types';
import { useI18n } from '../i18n/i18n';

export function LoginView({ onSignedIn, error }: { onSignedIn(s: Session): void; error: string | null }) {
  const { t, lang, setLang } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(error);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      onSignedIn(await api.login(username, password));
    } catch (err) {
      setFailure(
        err instanceof ApiError && (err.status === 401 || err.status === 403)
          ? t('login.failed')
          : t('app.error', { message: (err as Error).message }),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" id="main">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t('login.title')}</h1>
        <p className="muted">{t('app.title')}</p>
        <label htmlFor="login-username">{t('login.username')}</label>
        <input
          id="login-username"
          name="username"
          autoComplete="username"
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <label htmlFor="login-password">{t('login.password')}</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {failure && (
          <p className="error" role="alert">
            {failure}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {t('login.submit')}
        </button>
        <button
          type="button"
          className="btn btn-ghost"
          onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')}
          lang={lang === 'vi' ? 'en' : 'vi'}
        >
          {t('app.switchLang')}
        </button>
      </form>
    </main>
  );
}
