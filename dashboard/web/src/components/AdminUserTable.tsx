import { useState } from 'react';
import type { Role } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';
import { ROLES, type AdminUser } from './AdminApi';

export type UserAction =
  { kind: 'role'; user: AdminUser; to: Role } | { kind: 'disable' | 'enable' | 'password' | 'wards'; user: AdminUser };

/** Accounts with per-row actions; every action is only requested here, the view confirms and performs it. */
export function AdminUserTable({ users, me, onAction }: { users: AdminUser[]; me: string; onAction(a: UserAction): void }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={t('admin.users')}>
      <table data-testid="admin-users">
        <caption className="sr-only">{t('admin.users')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('admin.username')}</th>
            <th scope="col">{t('admin.displayName')}</th>
            <th scope="col">{t('admin.role')}</th>
            <th scope="col">{t('admin.wardsColumn')}</th>
            <th scope="col">{t('admin.status')}</th>
            <th scope="col">{t('admin.lastLogin')}</th>
            <th scope="col">{t('admin.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <UserRow key={u.username} user={u} self={u.username === me} onAction={onAction} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function UserRow({ user, self, onAction: act }: { user: AdminUser; self: boolean; onAction(a: UserAction): void }) {
  const { t, dateTime } = useI18n();
  const { city } = useApp();
  const [role, setRole] = useState<Role>(user.role);
  const selectId = `role-${user.username}`;
  return (
    <tr data-user={user.username}>
      <th scope="row">
        {user.username} {self && <span className="muted">{t('admin.you')}</span>}
      </th>
      <td>{user.displayName}</td>
      <td>
        <label className="sr-only" htmlFor={selectId}>
          {t('admin.roleOf', { user: user.username })}
        </label>
        <select id={selectId} value={role} onChange={(e) => setRole(e.target.value as Role)} disabled={self}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>{' '}
        {role !== user.role && (
          <button type="button" className="btn btn-small" onClick={() => act({ kind: 'role', user, to: role })}>
            {t('admin.applyRole')}
          </button>
        )}
      </td>
      <td>
        <span data-testid="user-wards">
          {user.wards?.length ? user.wards.map((id) => city.wards.find((w) => w.id === id)?.name ?? id).join(', ') : t('admin.wholeCity')}
        </span>{' '}
        <button
          type="button"
          className="btn btn-small"
          onClick={() => act({ kind: 'wards', user })}
          aria-label={t('admin.editWardsOf', { user: user.username })}
        >
          {t('admin.editWards')}
        </button>
      </td>
      <td>{user.disabled ? <strong className="error-text">{t('admin.disabled')}</strong> : t('admin.enabled')}</td>
      <td>
        {user.lastLogin ? (
          <time dateTime={new Date(user.lastLogin).toISOString()}>{dateTime(user.lastLogin)}</time>
        ) : (
          <span className="muted">{t('admin.never')}</span>
        )}
      </td>
      <td>
        <div className="button-row">
          {!self && (
            <button
              type="button"
              className="btn btn-small"
              onClick={() => act({ kind: user.disabled ? 'enable' : 'disable', user })}
              aria-label={`${t(user.disabled ? 'admin.enable' : 'admin.disable')}: ${user.username}`}
            >
              {t(user.disabled ? 'admin.enable' : 'admin.disable')}
            </button>
          )}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => act({ kind: 'password', user })}
            aria-label={`${t('admin.resetPassword')}: ${user.username}`}
          >
            {t('admin.resetPassword')}
          </button>
        </div>
      </td>
    </tr>
  );
}
