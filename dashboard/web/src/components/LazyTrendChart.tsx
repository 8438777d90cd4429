import { lazy, Suspense, type ComponentProps } from 'react';
import type { TrendChart as TrendChartType } from './TrendChart';
import { useI18n } from '../i18n/i18n';

const TrendChart = lazy(() => import('./TrendChart').then((m) => ({ default: m.TrendChart })));

/** The chart library arrives after the live values: views that lead with numbers render those first. */
export function LazyTrendChart(props: ComponentProps<typeof TrendChartType>) {
  const { t } = useI18n();
  return (
    <Suspense fallback={<p className="muted chart-empty">{t('app.loading')}</p>}>
      <TrendChart {...props} />
    </Suspense>
  );
}
