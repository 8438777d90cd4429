import { useState } from 'react';
import { api, ApiError, type FieldIssue } from '../api/client';
import type { CityModel } from '../api/types';
import { useApi } from '../api/useApi';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DEVICE_KINDS, DeviceForm, type RegistryDevice } from '../components/DeviceForm';
import { Link } from '../components/Link';
import { useI18n } from '../i18n/i18n';
import { issuesFor } from '../lib/field-issues';
import { useApp } from '../session';

interface Registry {
  version: number;
  city: CityModel;
  updatedBy: string;
  updatedAt: number;
}
type Outcome = { kind: 'ok' | 'error' | 'conflict'; text: string; issues?: FieldIssue[] };

/**
 * The device registry for admins: filter by ward and kind, add, edit, move (ward/gateway), remove. Each save
 * is a new registry version the server publishes to ingest; a stale editor gets a conflict, not an overwrite.
 */
export default function AdminDevicesView() {
  const { t, dateTime } = useI18n();
  const { refreshCity } = useApp();
  const reg = useApi<Registry>('/api/admin/registry');
  const [ward, setWard] = useState('');
  const [kind, setKind] = useState('');
  const [editing, setEditing] = useState<{ device: RegistryDevice | null } | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [removing, setRemoving] = useState<RegistryDevice | null>(null);
  const [busy, setBusy] = useState(false);

  const data = reg.data;
  const city = data?.city;
  const wardName = (id: string) => city?.wards.find((w) => w.id === id)?.name ?? id;
  const gatewayName = (id: string) => city?.gateways.find((g) => g.id === id)?.name ?? id;
  const shown = (city?.devices ?? []).filter((d) => (!ward || d.ward === ward) && (!kind || d.kind === kind));

  const failed = (err: unknown) => {
    if (err instanceof ApiError && err.status === 409 && err.code === 'conflict') return setOutcome({ kind: 'conflict', text: t('devices.conflict', { message: err.message }) });
    if (err instanceof ApiError && err.issues.length) {
      const { fields, other } = issuesFor(err.issues, 'device.');
      setFieldErrors(fields);
      return setOutcome({ kind: 'error', text: t('devices.invalid'), issues: other });
    }
    setOutcome({ kind: 'error', text: t('app.error', { message: (err as Error).message }) });
  };
  const done = (res: Registry, text: string) => {
    reg.set(() => res);
    refreshCity();
    setOutcome({ kind: 'ok', text });
  };

  const submit = async (device: Record<string, unknown>) => {
    if (!data) return;
    setBusy(true);
    setOutcome(null);
    setFieldErrors({});
    try {
      const res = await api.put<Registry>(`/api/admin/registry/devices/${encodeURIComponent(String(device.id))}`, { baseVersion: data.version, device });
      done(res, t('devices.saved', { name: String(device.name), version: res.version }));
      setEditing(null);
    } catch (err) {
      failed(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    const d = removing;
    setRemoving(null);
    if (!data || !d) return;
    setBusy(true);
    setOutcome(null);
    try {
      const res = await api.del<Registry>(`/api/admin/registry/devices/${encodeURIComponent(d.id)}`, { baseVersion: data.version });
      done(res, t('devices.removed', { name: d.name, version: res.version }));
    } catch (err) {
      failed(err);
    } finally {
      setBusy(false);
    }
  };

  const open = (device: RegistryDevice | null) => {
    setFieldErrors({});
    setOutcome(null);
    setEditing({ device });
    setFormKey((k) => k + 1);
  };

  return (
    <>
      <h1>{t('devices.title')}</h1>
      {reg.error && (
        <p className="error" role="alert">
          {t('app.error', { message: reg.error })}
        </p>
      )}
      {data && (
        <p className="summary" data-testid="registry-version">
          {t('rules.version', { version: data.version })} — {t('rules.updated', { user: data.updatedBy, time: dateTime(data.updatedAt) })}
        </p>
      )}
      <p className="muted">{t('devices.note')}</p>
      <div aria-live="polite" data-testid="devices-outcome">
        {outcome && (
          <div className={outcome.kind === 'ok' ? undefined : 'error'} role={outcome.kind === 'ok' ? 'status' : 'alert'} data-kind={outcome.kind}>
            <p>{outcome.text}</p>
            {outcome.issues && outcome.issues.length > 0 && (
              <ul>
                {outcome.issues.map((i) => (
                  <li key={`${i.path}:${i.message}`}>
                    <code>{i.path}</code>: {i.message}
                  </li>
                ))}
              </ul>
            )}
            {outcome.kind === 'conflict' && (
              <button type="button" className="btn" onClick={() => (setOutcome(null), setEditing(null), reg.reload())}>
                {t('rules.reload')}
              </button>
            )}
          </div>
        )}
      </div>
      {city && (
        <section className="panel" aria-labelledby="devices-title">
          <h2 id="devices-title">{t('devices.list', { shown: shown.length, total: city.devices.length })}</h2>
          <div className="toolbar">
            <label>
              {t('devices.filterWard')}
              <select value={ward} onChange={(e) => setWard(e.target.value)} data-testid="filter-ward">
                <option value="">{t('devices.all')}</option>
                {city.wards.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t('devices.filterKind')}
              <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="filter-kind">
                <option value="">{t('devices.all')}</option>
                {DEVICE_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {t(`kind.${k}`)}
                  </option>
                ))}
              </select>
            </label>
            {!editing && (
              <button type="button" className="btn btn-primary" onClick={() => open(null)}>
                {t('devices.add')}
              </button>
            )}
          </div>
          {editing && <DeviceForm key={formKey} city={city} initial={editing.device} takenIds={city.devices.map((d) => d.id)} errors={fieldErrors} busy={busy} onSubmit={(d) => void submit(d)} onCancel={() => (setEditing(null), setFieldErrors({}))} />}
          <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="devices-title">
            <table data-testid="admin-devices">
              <thead>
                <tr>
                  <th scope="col">{t('admin.device')}</th>
                  <th scope="col">{t('admin.kind')}</th>
                  <th scope="col">{t('admin.ward')}</th>
                  <th scope="col">{t('admin.gateway')}</th>
                  <th scope="col">{t('admin.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((d) => (
                  <tr key={d.id} data-device={d.id}>
                    <th scope="row">
                      <Link href={`/devices/${encodeURIComponent(d.id)}`}>{d.name}</Link>
                      <br />
                      <span className="muted small">{d.id}</span>
                    </th>
                    <td>{t(`kind.${d.kind}`)}</td>
                    <td>{wardName(d.ward)}</td>
                    <td>{gatewayName(d.gateway)}</td>
                    <td className="button-row">
                      <button type="button" className="btn" onClick={() => open(d)} aria-label={t('devices.editOf', { name: d.name })}>
                        {t('devices.edit')}
                      </button>
                      <button type="button" className="btn btn-danger" onClick={() => setRemoving(d)} aria-label={t('devices.removeOf', { name: d.name })}>
                        {t('devices.remove')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      <ConfirmDialog open={removing !== null} title={removing ? t('devices.confirmRemove', { name: removing.name }) : ''} busy={busy} onConfirm={() => void remove()} onCancel={() => setRemoving(null)} />
    </>
  );
}
