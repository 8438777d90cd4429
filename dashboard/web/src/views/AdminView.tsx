import { useState } from 'react';
import { api, ApiError } from '../api/client';
import { useApi } from '../api/useApi';
import { MIN_PASSWORD_LENGTH, type AdminUser } from '../components/AdminApi';
import { AdminCreateUser, type NewUser } from '../components/AdminCreateUser';
import { Link } from '../components/Link';
import { AdminUserTable, type UserAction } from '../components/AdminUserTable';
import { AdminTokens } from '../components/AdminTokens';
import { DemoControl } from '../components/DemoControl';
import { ConfirmDialog } from '../components/ConfirmDialog';
import type { MessageKey } from '../i18n/dict';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';

type Pending = UserAction | { kind: 'create'; user: NewUser };

const KNOWN_ERRORS = new Set(['self_lockout', 'last_admin', 'exists', 'weak_password']);

/** Administration: accounts (create, role, ward scope, disable/enable, password reset, each confirmed); links to recipients, devices and rules. */
export default function AdminView() {
  const { t } = useI18n();
  const { session, city } = useApp();
  const users = useApi<{ users: AdminUser[] }>('/api/users');
  const [pending, setPending] = useState<Pending | null>(null);
  const [newPassword, setNewPassword] = useState('');
  const [newWards, setNewWards] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [formKey, setFormKey] = useState(0);

  const describe = (err: unknown) => {
    if (err instanceof ApiError && KNOWN_ERRORS.has(err.code)) return t(`admin.err.${err.code}` as MessageKey);
    return t('app.error', { message: (err as Error).message });
  };

  const perform = async () => {
    if (!pending) return;
    if (pending.kind === 'password' && newPassword.length < MIN_PASSWORD_LENGTH) {
      setMessage({ ok: false, text: t('admin.passwordShort', { n: MIN_PASSWORD_LENGTH }) });
      return;
    }
    setBusy(true);
    try {
      if (pending.kind === 'create') {
        await api.post('/api/users', pending.user);
        setFormKey((k) => k + 1);
        setMessage({ ok: true, text: t('admin.created', { user: pending.user.username }) });
      } else {
        const patch =
          pending.kind === 'role'
            ? { role: pending.to }
            : pending.kind === 'password'
              ? { password: newPassword }
              : pending.kind === 'wards'
                ? { wards: newWards }
                : { disabled: pending.kind === 'disable' };
        await api.patch(`/api/users/${encodeURIComponent(pending.user.username)}`, patch);
        setMessage({ ok: true, text: t('admin.done', { user: pending.user.username }) });
      }
      users.reload();
    } catch (err) {
      setMessage({ ok: false, text: describe(err) });
    } finally {
      setBusy(false);
      setPending(null);
      setNewPassword('');
    }
  };

  const question = (p: Pending): string => {
    const user = p.user.username;
    switch (p.kind) {
      case 'create':
        return t('admin.confirmCreate', { user, role: t(`role.${p.user.role}`) });
      case 'role':
        return t('admin.confirmRole', { user, from: t(`role.${p.user.role}`), to: t(`role.${p.to}`) });
      case 'disable':
        return t('admin.confirmDisable', { user });
      case 'enable':
        return t('admin.confirmEnable', { user });
      case 'password':
        return t('admin.confirmPassword', { user });
      case 'wards':
        return t('admin.confirmWards', { user });
    }
  };

  return (
    <>
      <h1>{t('admin.title')}</h1>
      <p
        aria-live="polite"
        className={message && !message.ok ? 'error' : undefined}
        data-testid="admin-message"
        role={message && !message.ok ? 'alert' : undefined}
      >
        {message?.text}
      </p>
      <DemoControl />
      <section className="panel" aria-labelledby="users-title">
        <h2 id="users-title">{t('admin.users')}</h2>
        {users.error && (
          <p className="error" role="alert">
            {t('app.error', { message: users.error })}
          </p>
        )}
        {users.loading && !users.data && <p>{t('app.loading')}</p>}
        {users.data && (
          <AdminUserTable
            users={users.data.users}
            me={session.user.username}
            onAction={(a) => (setMessage(null), setNewWards(a.user.wards ?? []), setPending(a))}
          />
        )}
      </section>
      <section className="panel" aria-labelledby="create-user-title">
        <h2 id="create-user-title">{t('admin.create')}</h2>
        <AdminCreateUser key={formKey} onSubmit={(u) => (setMessage(null), setPending({ kind: 'create', user: u }))} />
      </section>
      <AdminTokens />
      <section className="panel" aria-labelledby="more-admin-title">
        <h2 id="more-admin-title">{t('admin.more')}</h2>
        <ul data-testid="admin-more">
          <li>
            <Link href="/admin/recipients">{t('admin.recipients')}</Link> — {t('admin.recipientsNote')}
          </li>
          <li>
            <Link href="/admin/devices">{t('admin.devices')}</Link> — {t('admin.devicesNote')}
          </li>
          <li>
            <Link href="/rules">{t('nav.rules')}</Link>
          </li>
        </ul>
      </section>
      <ConfirmDialog
        open={pending !== null}
        title={pending ? question(pending) : ''}
        busy={busy}
        onConfirm={() => void perform()}
        onCancel={() => (setPending(null), setNewPassword(''))}
      >
        {pending?.kind === 'password' && (
          <label className="toolbar">
            {t('admin.newPassword', { n: MIN_PASSWORD_LENGTH })}
            <input
              type="password"
              autoComplete="new-password"
              minLength={MIN_PASSWORD_LENGTH}
              value={newPassword}
              onChange={(e) => setNewPassword(e.target.value)}
              data-testid="new-password"
            />
          </label>
        )}
        {pending?.kind === 'wards' && (
          <label className="toolbar">
            {t('admin.wards')}
            <select
              multiple
              size={6}
              value={newWards}
              aria-describedby="edit-user-wards-hint"
              onChange={(e) => setNewWards([...e.target.selectedOptions].map((o) => o.value))}
              data-testid="edit-wards"
            >
              {city.wards.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
            <span id="edit-user-wards-hint" className="muted">
              {t('admin.wardsHint')}
            </span>
          </label>
        )}
      </ConfirmDialog>
    </>
  );
}
