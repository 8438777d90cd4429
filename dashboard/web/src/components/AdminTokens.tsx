import { useState, type FormEvent } from 'react';
import { TOKEN_SCOPES } from '@tamky/protocol/names';
import { api } from '../api/client';
import type { ApiToken } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';
import { ConfirmDialog } from './ConfirmDialog';

/** Admins create API tokens for other systems (Grafana, the provincial IOC) and revoke them; each step confirmed. */
export function AdminTokens() {
  const { t, dateTime, num } = useI18n();
  const { city } = useApp();
  const tokens = useApi<{ tokens: ApiToken[] }>('/api/tokens');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read:readings']);
  const [wards, setWards] = useState<string[]>([]);
  const [days, setDays] = useState(365);
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [error, setError] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const res = await api.post<{ text: string }>('/api/tokens', { name, scopes, wards, expiresInDays: days });
      setCreated(res.text);
      setName('');
      tokens.reload();
    } catch (err) {
      setError(t('app.error', { message: (err as Error).message }));
    }
  };
  const revoke = async () => {
    if (!revoking) return;
    try {
      await api.del(`/api/tokens/${encodeURIComponent(revoking.id)}`);
      tokens.reload();
    } catch (err) {
      setError(t('app.error', { message: (err as Error).message }));
    } finally {
      setRevoking(null);
    }
  };
  const toggle = (list: string[], value: string) => (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);
  const wardName = (id: string) => city.wards.find((w) => w.id === id)?.name ?? id;
  const state = (tk: ApiToken) =>
    tk.revokedAt ? t('tokens.revoked') : tk.expiresAt !== null && tk.expiresAt <= Date.now() ? t('tokens.expired') : t('tokens.active');

  return (
    <section className="panel" aria-labelledby="tokens-title" data-testid="admin-tokens">
      <h2 id="tokens-title">{t('tokens.title')}</h2>
      <p>{t('tokens.note')}</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <p role="status" data-testid="token-created">
          {t('tokens.createdOnce')} <code>{created}</code>
        </p>
      )}
      {tokens.data && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('tokens.name')}</th>
                <th scope="col">{t('tokens.scopes')}</th>
                <th scope="col">{t('tokens.wards')}</th>
                <th scope="col">{t('tokens.expires')}</th>
                <th scope="col">{t('tokens.lastUsed')}</th>
                <th scope="col">{t('tokens.state')}</th>
                <th scope="col">{t('admin.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.tokens.map((tk) => (
                <tr key={tk.id} data-testid={`token-${tk.id}`}>
                  <td>{tk.name}</td>
                  <td>{tk.scopes.map((s) => t(s === 'read:alarms' ? 'tokens.scope.alarms' : 'tokens.scope.readings')).join(', ')}</td>
                  <td>{tk.wards.length ? tk.wards.map(wardName).join(', ') : t('tokens.allWards')}</td>
                  <td>{tk.expiresAt !== null ? dateTime(tk.expiresAt) : '—'}</td>
                  <td>{tk.lastUsedAt !== null ? `${dateTime(tk.lastUsedAt)} (${num(tk.uses)})` : t('admin.never')}</td>
                  <td>{state(tk)}</td>
                  <td>
                    {!tk.revokedAt && (
                      <button type="button" className="btn" onClick={() => setRevoking(tk)}>
                        {t('tokens.revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form onSubmit={(e) => void create(e)} className="form-grid">
        <label>
          {t('tokens.name')}
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={80} data-testid="token-name" />
        </label>
        <fieldset>
          <legend>{t('tokens.scopes')}</legend>
          {TOKEN_SCOPES.map((s) => (
            <label key={s}>
              <input type="checkbox" checked={scopes.includes(s)} onChange={() => setScopes(toggle(scopes, s))} />
              {t(s === 'read:alarms' ? 'tokens.scope.alarms' : 'tokens.scope.readings')}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>{t('tokens.wards')}</legend>
          {city.wards.map((w) => (
            <label key={w.id}>
              <input type="checkbox" checked={wards.includes(w.id)} onChange={() => setWards(toggle(wards, w.id))} />
              {w.name}
            </label>
          ))}
        </fieldset>
        <label>
          {t('tokens.days')}
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(Number(e.target.value))} />
        </label>
        <button type="submit" className="btn btn-primary" disabled={!name.trim() || scopes.length === 0}>
          {t('tokens.create')}
        </button>
      </form>
      <ConfirmDialog
        open={revoking !== null}
        title={revoking ? t('tokens.confirmRevoke', { name: revoking.name }) : ''}
        onConfirm={() => void revoke()}
        onCancel={() => setRevoking(null)}
      />
    </section>
  );
}
