import { useI18n } from '../i18n/i18n';
import { useAqiBand } from '../api/useLimits';
import { rgbCss, textOn } from '../lib/aqi';

/** VN_AQI value on its official colour, with the level's name and an icon (colour is never the only signal). */
export function AqiBadge({ value, size = 'md' }: { value: number | null | undefined; size?: 'md' | 'lg' | 'xl' }) {
  const { t, num, lang } = useI18n();
  const bandOf = useAqiBand();
  if (value === null || value === undefined) {
    return (
      <div className={`aqi-badge aqi-${size} aqi-none`}>
        <span className="aqi-label">{t('aqi.short')}</span>
        <span className="aqi-value">—</span>
        <span className="aqi-level">{t('app.noData')}</span>
      </div>
    );
  }
  const band = bandOf(value);
  if (!band) {
    // The levels arrive with /api/limits, a moment after the values: the number first, the level then.
    return (
      <div className={`aqi-badge aqi-${size} aqi-none`} data-testid="aqi">
        <span className="aqi-label">{t('aqi.short')}</span>
        <span className="aqi-value">{num(value, 0)}</span>
      </div>
    );
  }
  return (
    <div
      className={`aqi-badge aqi-${size}`}
      style={{ background: rgbCss(band.rgb), color: textOn(band.rgb) }}
      data-level={band.id}
      data-testid="aqi"
    >
      <span className="aqi-label">{t('aqi.short')}</span>
      <span className="aqi-value">{num(value, 0)}</span>
      <span className="aqi-level">
        <span aria-hidden="true">{band.icon} </span>
        {lang === 'vi' ? band.vi : band.en}
      </span>
    </div>
  );
}
