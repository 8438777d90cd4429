import { buildUrl, type Query } from '../api/client';
import { useI18n } from '../i18n/i18n';

/** Downloads exactly the chart's data: same query against /api/history.csv. */
export function CsvButton({ query, title }: { query: Query; title: string }) {
  const { t } = useI18n();
  return (
    <a
      className="btn btn-small"
      href={buildUrl('/api/history.csv', query)}
      download
      aria-label={t('chart.csvLabel', { title })}
      data-testid="csv"
    >
      <span aria-hidden="true">⤓ </span>
      {t('chart.csv')}
    </a>
  );
}
