import { useState, type FormEvent, type ReactNode } from 'react';
import { isValidId } from '@tamky/protocol/ids';
import { FormButtons } from './FormButtons';
import type { CityModel } from '../api/types';
import { useI18n } from '../i18n/i18n';

export type RegistryGateway = CityModel['gateways'][number];
type Field = 'id' | 'name' | 'ward';

/** Add or edit one gateway of the registry (id, name, ward); server messages arrive in `errors` by field. */
export function GatewayForm({
  city,
  initial,
  errors,
  busy,
  onSubmit,
  onCancel,
}: {
  city: CityModel;
  initial: RegistryGateway | null;
  errors: Record<string, string>;
  busy: boolean;
  onSubmit(g: RegistryGateway): void;
  onCancel(): void;
}) {
  const { t } = useI18n();
  const [g, setG] = useState<RegistryGateway>(initial ?? { id: '', name: '', ward: city.wards[0]?.id ?? '' });
  const [local, setLocal] = useState<Partial<Record<Field, string>>>({});
  const problem = (f: Field) => local[f] ?? errors[f];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p: Partial<Record<Field, string>> = {};
    if (!isValidId(g.id)) p.id = t('devices.idHint');
    else if (!initial && city.gateways.some((x) => x.id === g.id)) p.id = t('gateways.idTaken');
    if (!g.name.trim()) p.name = t('gateways.needName');
    setLocal(p);
    if (Object.keys(p).length) return;
    onSubmit({ ...g, name: g.name.trim() });
  };

  const field = (f: Field, label: string, control: ReactNode) => (
    <div className="form-field">
      <label htmlFor={`gw-${f}`}>{label}</label>
      {control}
      {problem(f) && (
        <p id={`gw-${f}-error`} className="field-error" data-testid={`gw-${f}-error`}>
          {problem(f)}
        </p>
      )}
    </div>
  );
  const aria = (f: Field) => (problem(f) ? { 'aria-invalid': true, 'aria-describedby': `gw-${f}-error` } : {});

  return (
    <form onSubmit={submit} noValidate className="form-grid" data-testid="gateway-form" aria-labelledby="gateway-form-title">
      <h3 id="gateway-form-title" className="form-wide">
        {initial ? t('gateways.editTitle', { name: initial.name }) : t('gateways.addTitle')}
      </h3>
      {field(
        'id',
        t('gateways.id'),
        <input
          id="gw-id"
          type="text"
          value={g.id}
          disabled={initial !== null}
          onChange={(e) => setG({ ...g, id: e.target.value })}
          {...aria('id')}
        />,
      )}
      {field(
        'name',
        t('gateways.name'),
        <input id="gw-name" type="text" value={g.name} onChange={(e) => setG({ ...g, name: e.target.value })} {...aria('name')} />,
      )}
      {field(
        'ward',
        t('admin.ward'),
        <select id="gw-ward" value={g.ward} onChange={(e) => setG({ ...g, ward: e.target.value })} {...aria('ward')}>
          {city.wards.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>,
      )}
      <FormButtons saveLabel={t('gateways.save')} busy={busy} onCancel={onCancel} />
    </form>
  );
}
