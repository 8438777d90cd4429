import { useI18n } from '../i18n/i18n';

/** Previous / "page n of m" / next under a paged admin table; `testId` prefixes the controls' test ids. */
export function Pager({
  page,
  total,
  pageSize,
  onPage,
  testId,
}: {
  page: number;
  total: number | undefined;
  pageSize: number;
  onPage: (page: number) => void;
  testId?: string;
}) {
  const { t, num } = useI18n();
  const pages = total === undefined ? 1 : Math.max(1, Math.ceil(total / pageSize));
  const id = (part: string) => (testId ? `${testId}-${part}` : undefined);
  return (
    <nav className="button-row" aria-label={t('audit.pages')}>
      <button type="button" className="btn" disabled={page === 0} onClick={() => onPage(page - 1)} data-testid={id('prev')}>
        {t('audit.prev')}
      </button>
      <span data-testid={id('page')}>{t('audit.page', { n: num(page + 1, 0), of: num(pages, 0) })}</span>
      <button type="button" className="btn" disabled={page + 1 >= pages} onClick={() => onPage(page + 1)} data-testid={id('next')}>
        {t('audit.next')}
      </button>
    </nav>
  );
}
