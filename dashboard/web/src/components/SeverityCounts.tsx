import { SEVERITY_ICON } from '../lib/severity';
import { useI18n } from '../i18n/i18n';
import type { Severity } from '../api/types';

const ORDER: Severity[] = ['critical', 'major', 'minor', 'warning'];

export function SeverityCounts({ counts }: { counts: Partial<Record<Severity, number>> }) {
  const { t } = useI18n();
  const present = ORDER.filter((s) => (counts[s] ?? 0) > 0);
  if (present.length === 0) return <span className="muted">{t('ward.noAlarms')}</span>;
  return (
    <ul className="severity-counts">
      {present.map((s) => (
        <li key={s} className={`sev sev-${s}`}>
          <span aria-hidden="true">{SEVERITY_ICON[s]} </span>
          {counts[s]} {t(`severity.${s}`)}
        </li>
      ))}
    </ul>
  );
}
