import { useState } from 'react';
import { SaveOutcome, type SaveOutcomeValue } from '../components/SaveOutcome';
import { api, ApiError } from '../api/client';
import type { RegistryAnswer } from '../api/types';
import { useApi } from '../api/useApi';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DEVICE_KINDS, DeviceForm, type RegistryDevice } from '../components/DeviceForm';
import { GatewayForm, type RegistryGateway } from '../components/GatewayForm';
import { Link } from '../components/Link';
import { useI18n } from '../i18n/i18n';
import { issuesFor } from '../lib/field-issues';
import { useApp } from '../session';
import { RowActions } from '../components/RowActions';

type Registry = RegistryAnswer;
type Outcome = SaveOutcomeValue;

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
  const [gatewayEdit, setGatewayEdit] = useState<{ index: number | null; gateway: RegistryGateway | null } | null>(null);
  const [removingGateway, setRemovingGateway] = useState<RegistryGateway | null>(null);
  const [busy, setBusy] = useState(false);

  const data = reg.data;
  const city = data?.city;
  const wardName = (id: string) => city?.wards.find((w) => w.id === id)?.name ?? id;
  const gatewayName = (id: string) => city?.gateways.find((g) => g.id === id)?.name ?? id;
  const shown = (city?.devices ?? []).filter((d) => (!ward || d.ward === ward) && (!kind || d.kind === kind));

  const failed = (err: unknown, prefix: string | null = 'device.') => {
    if (err instanceof ApiError && err.status === 409 && err.code === 'conflict')
      return setOutcome({ kind: 'conflict', text: t('devices.conflict', { message: err.message }) });
    if (err instanceof ApiError && err.issues.length) {
      const { fields, other } = prefix === null ? { fields: {}, other: err.issues } : issuesFor(err.issues, prefix);
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
      const res = await api.put<Registry>(`/api/admin/registry/devices/${encodeURIComponent(String(device.id))}`, {
        baseVersion: data.version,
        device,
      });
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

  /** Gateways are saved as a whole new registry version (the per-device routes cover devices only). */
  const saveGateways = async (gateways: RegistryGateway[], index: number | null, text: string): Promise<boolean> => {
    if (!data) return false;
    setBusy(true);
    setOutcome(null);
    setFieldErrors({});
    try {
      const res = await api.put<Registry>('/api/admin/registry', { baseVersion: data.version, city: { ...data.city, gateways } });
      done(res, text.replace('{version}', String(res.version)));
      return true;
    } catch (err) {
      failed(err, index === null ? null : `gateways.${index}.`);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const submitGateway = async (g: RegistryGateway) => {
    if (!data || !gatewayEdit) return;
    const list = [...data.city.gateways];
    const index = gatewayEdit.index ?? list.length;
    list[index] = g;
    if (await saveGateways(list, index, t('gateways.saved', { name: g.name, version: '{version}' }))) setGatewayEdit(null);
  };
  const removeGateway = async () => {
    const g = removingGateway;
    setRemovingGateway(null);
    if (!data || !g) return;
    await saveGateways(
      data.city.gateways.filter((x) => x.id !== g.id),
      null,
      t('gateways.removed', { name: g.name, version: '{version}' }),
    );
  };
  const askRemoveGateway = (g: RegistryGateway) => {
    const using = data?.city.devices.filter((d) => d.gateway === g.id).length ?? 0;
    // The server would refuse it too (devices.N.gateway); say why before asking.
    if (using > 0) return setOutcome({ kind: 'error', text: t('gateways.inUse', { name: g.name, n: using }) });
    setRemovingGateway(g);
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
      <SaveOutcome outcome={outcome} testId="devices-outcome" onReload={() => (setOutcome(null), setEditing(null), reg.reload())} />
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
          {editing && (
            <DeviceForm
              key={formKey}
              city={city}
              initial={editing.device}
              takenIds={city.devices.map((d) => d.id)}
              errors={fieldErrors}
              busy={busy}
              onSubmit={(d) => void submit(d)}
              onCancel={() => (setEditing(null), setFieldErrors({}))}
            />
          )}
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
                    <td>
                      <RowActions
                        edit={{ text: t('devices.edit'), label: t('devices.editOf', { name: d.name }) }}
                        remove={{ text: t('devices.remove'), label: t('devices.removeOf', { name: d.name }) }}
                        onEdit={() => open(d)}
                        onRemove={() => setRemoving(d)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {city && (
        <section className="panel" aria-labelledby="gateways-title">
          <h2 id="gateways-title">{t('gateways.list', { n: city.gateways.length })}</h2>
          {!gatewayEdit && (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => (setFieldErrors({}), setOutcome(null), setGatewayEdit({ index: null, gateway: null }))}
            >
              {t('gateways.add')}
            </button>
          )}
          {gatewayEdit && (
            <GatewayForm
              key={gatewayEdit.gateway?.id ?? 'new'}
              city={city}
              initial={gatewayEdit.gateway}
              errors={fieldErrors}
              busy={busy}
              onSubmit={(g) => void submitGateway(g)}
              onCancel={() => (setGatewayEdit(null), setFieldErrors({}))}
            />
          )}
          <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="gateways-title">
            <table data-testid="admin-gateways">
              <thead>
                <tr>
                  <th scope="col">{t('admin.gateway')}</th>
                  <th scope="col">{t('admin.ward')}</th>
                  <th scope="col">{t('gateways.devices')}</th>
                  <th scope="col">{t('admin.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {city.gateways.map((g, i) => (
                  <tr key={g.id} data-gateway={g.id}>
                    <th scope="row">
                      {g.name}
                      <br />
                      <span className="muted small">{g.id}</span>
                    </th>
                    <td>{wardName(g.ward)}</td>
                    <td>{city.devices.filter((d) => d.gateway === g.id).length}</td>
                    <td>
                      <RowActions
                        edit={{ text: t('devices.edit'), label: t('gateways.editOf', { name: g.name }) }}
                        remove={{ text: t('devices.remove'), label: t('gateways.removeOf', { name: g.name }) }}
                        onEdit={() => (setFieldErrors({}), setOutcome(null), setGatewayEdit({ index: i, gateway: g }))}
                        onRemove={() => askRemoveGateway(g)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      <ConfirmDialog
        open={removingGateway !== null}
        title={removingGateway ? t('gateways.confirmRemove', { name: removingGateway.name }) : ''}
        busy={busy}
        onConfirm={() => void removeGateway()}
        onCancel={() => setRemovingGateway(null)}
      />
      <ConfirmDialog
        open={removing !== null}
        title={removing ? t('devices.confirmRemove', { name: removing.name }) : ''}
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setRemoving(null)}
      />
    </>
  );
}
