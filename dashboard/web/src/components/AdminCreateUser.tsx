import { useState, type FormEvent } from 'react';
import type { Role } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';
import { MIN_PASSWORD_LENGTH, ROLES } from './AdminApi';

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  password: string;
  /** Ward ids the account is limited to (none chosen: the whole city). */
  wards: string[];
}

/** The create-account form; submitting asks the view to confirm (give it a new `key` to clear it). */
export function AdminCreateUser({ onSubmit }: { onSubmit(u: NewUser): void }) {
  const { t } = useI18n();
  const { city } = useApp();
  const [u, setU] = useState<NewUser>({ username: '', displayName: '', role: 'viewer', password: '', wards: [] });
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (u.password.length < MIN_PASSWORD_LENGTH) return setProblem(t('admin.passwordShort', { n: MIN_PASSWORD_LENGTH }));
    setProblem(null);
    onSubmit(u);
  };
  return (
    <form className="toolbar" onSubmit={submit} aria-labelledby="create-user-title" data-testid="create-user">
      <label>
        {t('admin.username')}
        <input
          name="username"
          required
          pattern="[a-z0-9][a-z0-9_.\-]{0,63}"
          title={t('admin.usernameHint')}
          autoComplete="off"
          value={u.username}
          onChange={(e) => setU({ ...u, username: e.target.value })}
        />
      </label>
      <label>
        {t('admin.displayName')}
        <input
          name="displayName"
          required
          maxLength={120}
          value={u.displayName}
          onChange={(e) => setU({ ...u, displayName: e.target.value })}
        />
      </label>
      <label>
        {t('admin.role')}
        <select name="role" value={u.role} onChange={(e) => setU({ ...u, role: e.target.value as Role })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('admin.wards')}
        <select
          name="wards"
          multiple
          size={4}
          value={u.wards}
          aria-describedby="create-user-wards-hint"
          onChange={(e) => setU({ ...u, wards: [...e.target.selectedOptions].map((o) => o.value) })}
        >
          {city.wards.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
        <span id="create-user-wards-hint" className="muted">
          {t('admin.wardsHint')}
        </span>
      </label>
      <label>
        {t('admin.password', { n: MIN_PASSWORD_LENGTH })}
        <input
          name="password"
          type="password"
          required
          autoComplete="new-password"
          value={u.password}
          onChange={(e) => setU({ ...u, password: e.target.value })}
          aria-describedby={problem ? 'create-user-problem' : undefined}
        />
      </label>
      <button type="submit" className="btn btn-primary">
        {t('admin.createSubmit')}
      </button>
      {problem && (
        <p id="create-user-problem" className="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
