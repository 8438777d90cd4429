import { useId } from 'react';
import { useI18n } from '../i18n/i18n';
import { RANGE_KEYS, type RangeKey } from '../lib/ranges';

export function RangePicker({ value, onChange }: { value: RangeKey; onChange(r: RangeKey): void }) {
  const { t } = useI18n();
  const id = useId();
  return (
    <fieldset className="segmented">
      <legend>{t('chart.range')}</legend>
      {RANGE_KEYS.map((r) => (
        <span key={r}>
          <input type="radio" id={`${id}-${r}`} name={id} value={r} checked={value === r} onChange={() => onChange(r)} />
          <label htmlFor={`${id}-${r}`}>{t(`chart.${r}`)}</label>
        </span>
      ))}
    </fieldset>
  );
}
