import { useState, type FormEvent, type ReactNode } from 'react';
import { isValidId } from '@tamky/protocol/ids';
import { DEVICE_KINDS } from '@tamky/protocol/kinds';
import { FormButtons } from './FormButtons';
import type { CityModel } from '../api/types';
import { useI18n } from '../i18n/i18n';

export type RegistryDevice = CityModel['devices'][number];
export { DEVICE_KINDS };

type Field = 'id' | 'name' | 'kind' | 'ward' | 'gateway' | 'lat' | 'lon' | 'pollIntervalMs' | 'devEui' | 'profile';
interface Draft {
  id: string;
  name: string;
  kind: string;
  ward: string;
  gateway: string;
  lat: string;
  lon: string;
  pollIntervalMs: string;
  devEui: string;
  profile: string;
}

/**
 * Add or edit one device of the registry; moving it is choosing another ward/gateway. Fields the form does
 * not show (zone, alarm levels, lamps…) are kept from the device as it was.
 */
export function DeviceForm({
  city,
  initial,
  takenIds,
  errors,
  busy,
  onSubmit,
  onCancel,
}: {
  city: CityModel;
  initial: RegistryDevice | null;
  takenIds: string[];
  errors: Record<string, string>;
  busy: boolean;
  onSubmit(d: Record<string, unknown>): void;
  onCancel(): void;
}) {
  const { t } = useI18n();
  const firstWard = city.wards[0]?.id ?? '';
  const [d, setD] = useState<Draft>(
    initial
      ? {
          id: initial.id,
          name: initial.name,
          kind: initial.kind,
          ward: initial.ward,
          gateway: initial.gateway,
          lat: String(initial.lat),
          lon: String(initial.lon),
          pollIntervalMs: String(initial.pollIntervalMs),
          devEui: initial.lorawan?.devEui ?? '',
          profile: initial.lorawan?.profile ?? '',
        }
      : {
          id: '',
          name: '',
          kind: 'air_station',
          ward: firstWard,
          gateway: city.gateways.find((g) => g.ward === firstWard)?.id ?? '',
          lat: String(city.lat),
          lon: String(city.lon),
          pollIntervalMs: '5000',
          devEui: '',
          profile: '',
        },
  );
  const [local, setLocal] = useState<Partial<Record<Field, string>>>({});
  const problem = (f: Field) => local[f] ?? errors[f] ?? errors[`lorawan.${f}`];
  const wardName = (id: string) => city.wards.find((w) => w.id === id)?.name ?? id;

  const setWard = (ward: string) => {
    // Moving to another ward: offer that ward's gateway unless the chosen one already serves it.
    const current = city.gateways.find((g) => g.id === d.gateway);
    const gateway = current?.ward === ward ? d.gateway : (city.gateways.find((g) => g.ward === ward)?.id ?? d.gateway);
    setD({ ...d, ward, gateway });
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p: Partial<Record<Field, string>> = {};
    if (!isValidId(d.id)) p.id = t('devices.idHint');
    else if (!initial && takenIds.includes(d.id)) p.id = t('devices.idTaken');
    if (!d.name.trim()) p.name = t('devices.needName');
    const lat = Number(d.lat);
    const lon = Number(d.lon);
    const poll = Number(d.pollIntervalMs);
    if (d.lat.trim() === '' || !Number.isFinite(lat) || lat < -90 || lat > 90) p.lat = t('devices.badLat');
    if (d.lon.trim() === '' || !Number.isFinite(lon) || lon < -180 || lon > 180) p.lon = t('devices.badLon');
    if (!Number.isInteger(poll) || poll < 100) p.pollIntervalMs = t('devices.badPoll');
    const devEui = d.devEui.trim().toLowerCase();
    if (devEui && !/^[0-9a-f]{16}$/.test(devEui)) p.devEui = t('devices.badDevEui');
    if (devEui && !isValidId(d.profile.trim())) p.profile = t('devices.needProfile');
    setLocal(p);
    if (Object.keys(p).length) return;
    // For a LoRaWAN device the poll interval is its uplink interval (no-data alarms follow it).
    const { lorawan: _previous, ...rest } = (initial ?? {}) as RegistryDevice;
    onSubmit({
      ...rest,
      id: d.id,
      name: d.name.trim(),
      kind: d.kind,
      ward: d.ward,
      gateway: d.gateway,
      lat,
      lon,
      pollIntervalMs: poll,
      ...(devEui ? { lorawan: { devEui, profile: d.profile.trim() } } : {}),
    });
  };

  const wrap = (
    f: Field,
    label: string,
    control: (props: { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string }) => ReactNode,
  ) => (
    <div className="form-field">
      <label htmlFor={`dev-${f}`}>{label}</label>
      {control({ id: `dev-${f}`, ...(problem(f) ? { 'aria-invalid': true, 'aria-describedby': `dev-${f}-error` } : {}) })}
      {problem(f) && (
        <p id={`dev-${f}-error`} className="field-error" data-testid={`dev-${f}-error`}>
          {problem(f)}
        </p>
      )}
    </div>
  );
  const input = (f: Exclude<Field, 'kind' | 'ward' | 'gateway'>, label: string, inputMode?: 'decimal' | 'numeric') =>
    wrap(f, label, (props) => (
      <input
        {...props}
        type="text"
        inputMode={inputMode}
        value={d[f]}
        disabled={f === 'id' && initial !== null}
        onChange={(e) => setD({ ...d, [f]: e.target.value })}
      />
    ));

  return (
    <form onSubmit={submit} noValidate className="form-grid" data-testid="device-form" aria-labelledby="device-form-title">
      <h3 id="device-form-title" className="form-wide">
        {initial ? t('devices.editTitle', { name: initial.name }) : t('devices.addTitle')}
      </h3>
      {input('id', t('devices.id'))}
      {input('name', t('devices.name'))}
      {wrap('kind', t('admin.kind'), (props) => (
        <select {...props} value={d.kind} disabled={initial !== null} onChange={(e) => setD({ ...d, kind: e.target.value })}>
          {DEVICE_KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`kind.${k}`)}
            </option>
          ))}
        </select>
      ))}
      {wrap('ward', t('admin.ward'), (props) => (
        <select {...props} value={d.ward} onChange={(e) => setWard(e.target.value)}>
          {city.wards.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
      ))}
      {wrap('gateway', t('admin.gateway'), (props) => (
        <select {...props} value={d.gateway} onChange={(e) => setD({ ...d, gateway: e.target.value })}>
          {city.gateways.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name} ({wardName(g.ward)})
            </option>
          ))}
        </select>
      ))}
      {input('lat', t('devices.lat'), 'decimal')}
      {input('lon', t('devices.lon'), 'decimal')}
      {input('pollIntervalMs', t('devices.poll'), 'numeric')}
      {input('devEui', t('devices.devEui'))}
      {input('profile', t('devices.profile'))}
      <FormButtons saveLabel={t('devices.save')} busy={busy} onCancel={onCancel} />
    </form>
  );
}
