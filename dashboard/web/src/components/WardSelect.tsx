import { useId } from 'react';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';

export function WardSelect({ value, onChange }: { value: string; onChange(ward: string): void }) {
  const { t } = useI18n();
  const { city } = useApp();
  const id = useId();
  return (
    <label htmlFor={id}>
      {t('alarms.ward')}
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t('chart.wardComparison')}</option>
        {city.wards.map((w) => (
          <option key={w.id} value={w.id}>
            {w.name}
          </option>
        ))}
      </select>
    </label>
  );
}
